import io
import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import transaction

from annotation.demo import ITEMS_PATH, demo_definition, demo_items, demo_judgments
from annotation.management.base import TrenchcoatCommand
from annotation.models import Annotator, Membership
from annotation.services.imports import items_import, judgments_import
from annotation.services.projects import project_apply

# Local-only demo accounts; the command refuses to create them outside DEBUG.
DEMO_USERS = [
    ("admin", "trenchcoat-admin", None),
    ("lead", "trenchcoat-lead", Membership.Role.LEAD),
    ("annotator1", "trenchcoat-annotator1", Membership.Role.ANNOTATOR),
    ("annotator2", "trenchcoat-annotator2", Membership.Role.ANNOTATOR),
    ("annotator3", "trenchcoat-annotator3", Membership.Role.ANNOTATOR),
    ("researcher", "trenchcoat-researcher", Membership.Role.RESEARCHER),
]


class Command(TrenchcoatCommand):
    help = (
        "Create (or bring up to date) the demo project from annotation/demo_data/: five "
        "domains, 60 prompts with 2-4 responses each, labelled 1-5 scales, judgments by three "
        "imported raters on 60% of them, and demo users with local-only passwords. Idempotent. "
        "Refuses to run unless DEBUG is on or --allow-production is given."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="create the demo accounts even with DEBUG off",
        )
        super().add_arguments(parser)

    def run(self, **options):
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "seed_demo creates accounts with published passwords; run it with DEBUG=1 (or --allow-production)"
            )
        with transaction.atomic():
            project, created = project_apply(definition=demo_definition())
            with ITEMS_PATH.open("rb") as source:
                result = items_import(project=project, source=source, filename=ITEMS_PATH.name)
            judged = "".join(json.dumps(line) + "\n" for line in demo_judgments(demo_items()))
            judgments = judgments_import(
                project=project, source=io.BytesIO(judged.encode()), filename="demo-judgments.jsonl"
            )
            User = get_user_model()
            for username, password, role in DEMO_USERS:
                user, _ = User.objects.get_or_create(username=username)
                user.set_password(password)
                user.is_staff = user.is_superuser = role is None
                user.save()
                Annotator.objects.get_or_create(user=user)
                if role:
                    Membership.objects.update_or_create(
                        user=user, project=project, defaults={"role": role}
                    )
        return {
            "project": project.slug,
            "created": created,
            "prompts": project.prompts.count(),
            "responses": project.responses.count(),
            "new_prompts": result.created.get("prompts", 0),
            "judgments": judgments.created.get("likert", 0)
            + judgments.created.get("pairwise", 0)
            + sum(judgments.unchanged.values()),
            "users": [
                {"username": u, "password": p, "role": r or "staff"} for u, p, r in DEMO_USERS
            ],
        }

    def render(self, result) -> None:
        self.stdout.write(
            f"Demo project '{result['project']}': {result['prompts']} prompts, {result['responses']} "
            f"responses, {result['judgments']} judgments by three imported demo raters."
        )
        self.stdout.write("Demo logins (local only) at http://127.0.0.1:8000/accounts/login/ :")
        for user in result["users"]:
            self.stdout.write(f"  {user['username']:<12} {user['password']:<24} {user['role']}")
