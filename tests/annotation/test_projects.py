import pytest

from annotation.errors import ValidationProblems
from annotation.models import Criterion, Domain, Project
from annotation.services.projects import project_apply, project_create

pytestmark = pytest.mark.django_db


def test_a_new_project_gets_the_four_default_criteria_with_equal_weights():
    project = project_create(slug="p", name="P")
    criteria = list(project.criteria.order_by("position"))
    assert [c.key for c in criteria] == ["usefulness", "factuality", "safety", "alignment"]
    assert [c.weight for c in criteria] == [0.25] * 4
    assert all((c.scale_min, c.scale_max, c.level) == (1, 5, "ordinal") for c in criteria)


def test_it_rejects_weights_not_summing_to_one_and_writes_nothing():
    with pytest.raises(ValidationProblems) as exc:
        project_apply(
            definition={
                "slug": "bad",
                "criteria": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.6}],
            }
        )
    assert "weights must sum to 1, these sum to 1.1" in str(exc.value)
    assert "field 'criteria.weight'" in str(exc.value)
    assert not Project.objects.exists() and not Criterion.objects.exists()


def test_domains_without_shares_get_equal_shares():
    project = project_create(
        slug="p", name="P", domains=[{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}]
    )
    assert (
        sorted(Domain.objects.filter(project=project).values_list("target_share", flat=True))
        == [0.25] * 4
    )


def test_applying_the_same_definition_twice_changes_nothing():
    definition = {
        "slug": "x",
        "name": "X",
        "likert_quorum": 3,
        "criteria": [
            {"key": "helpful", "weight": 0.7, "scale_min": 1, "scale_max": 7, "level": "interval"},
            {"key": "harmless", "weight": 0.3},
        ],
        "domains": [{"name": "code", "target_share": 0.5}, {"name": "chat", "target_share": 0.5}],
    }
    project, created = project_apply(definition=definition)
    assert created
    again, created_again = project_apply(definition=definition)
    assert again.pk == project.pk and not created_again
    assert Criterion.objects.filter(project=project).count() == 2
    helpful = Criterion.objects.get(project=project, key="helpful")
    assert (helpful.scale_max, helpful.level, helpful.weight) == (7, "interval", 0.7)


def test_unknown_fields_and_bad_values_are_all_reported_with_their_field():
    with pytest.raises(ValidationProblems) as exc:
        project_apply(definition={"slug": "y", "quorum": 3, "blend_alpha": 2})
    message = str(exc.value)
    assert "field 'quorum': unknown field" in message
    assert "field 'blend_alpha'" in message
    assert not Project.objects.exists()
