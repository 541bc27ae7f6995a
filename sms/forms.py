from django import forms

from sms.parsing import MAX_BODY_LENGTH


class SimulatorForm(forms.Form):
    sender = forms.CharField(
        label="From",
        max_length=32,
        help_text="A test number in E.164 form; its country picks the national lines, e.g. +13065550123.",
    )
    body = forms.CharField(
        label="Message", required=False, max_length=MAX_BODY_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )
