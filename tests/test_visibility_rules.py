"""Each rule that decides what may be shown gives the same answers in all its forms (Q, numpy, Python)."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from directory import readmodel, rules
from directory.models import Service
from tests.test_read_model_search import build_dataset

pytestmark = pytest.mark.django_db


def test_live_current_and_age_agree_as_sql_as_numpy_columns_and_as_python():
    build_dataset(8, 80)
    model = readmodel.build()
    for now in (timezone.now(), timezone.now() + timedelta(days=400)):
        by_sql = set(Service.objects.filter(rules.live(), rules.current(now)).values_list("id", flat=True))
        mask = rules.live_mask(model.active, model.archived) & rules.current_mask(model.state, model.review_due, now)
        assert set(model.ids[mask].tolist()) == by_sql
        states = rules.effective_state_codes(model.state, model.review_due, now)
        for service in Service.objects.all():
            row = int(model.rows_of([service.pk])[0])
            expected = rules.effective_state(service.verification_state, service.review_due, now)
            assert rules.STATES[int(states[row])] == expected
    for age in (10, 13, 17, 18, 40):
        by_sql = set(Service.objects.filter(rules.serves_age(age)).values_list("id", flat=True))
        assert set(model.ids[rules.serves_age_mask(model.min_age, model.max_age, age)].tolist()) == by_sql
    assert np.any(rules.current_mask(model.state, model.review_due, timezone.now()))
