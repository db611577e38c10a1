from .assignments import Assignment, DomainProgress, Task, TaskSync
from .dashboard import DashboardSnapshot
from .disputes import Adjudication, Dispute
from .items import Prompt, PromptBand, Response
from .judgments import Annotator, ImportBatch, JudgmentSource, LikertJudgment, PairwiseJudgment
from .projects import DEFAULT_CRITERIA, WEIGHT_TOLERANCE, Criterion, Domain, Membership, Project
from .quality import AnnotatorExclusion, GoldItem
from .side_effects import SideEffectFailure
from .tokens import ApiToken

__all__ = [
    "Adjudication",
    "Dispute",
    "DashboardSnapshot",
    "AnnotatorExclusion",
    "GoldItem",
    "ApiToken",
    "Assignment",
    "DomainProgress",
    "Task",
    "TaskSync",
    "DEFAULT_CRITERIA",
    "WEIGHT_TOLERANCE",
    "Annotator",
    "Criterion",
    "Domain",
    "ImportBatch",
    "JudgmentSource",
    "LikertJudgment",
    "Membership",
    "PairwiseJudgment",
    "Project",
    "Prompt",
    "PromptBand",
    "Response",
    "SideEffectFailure",
]
