"""Verification workflows as data (docs/workflows.md): versioned YAML files whose rules are CEL expressions over typed
credential views, and the pure engine that runs them over an entry and its credential graph.

The shipped workflows (``ipr``, ``steel``, ``natural-gas``, ``timber``, ``food-safety``) are package data; an analyst's
own file loads with :meth:`Workflow.from_file`.
"""

from ._catalog import builtin_workflow, builtin_workflows, load_workflow
from ._engine import ENGINE_CODES, EXPRESSION_ERROR, UNIT_ERROR, Authorities, WorkflowEntry, WorkflowSession
from ._model import Workflow, WorkflowError

__all__ = [
    "ENGINE_CODES",
    "EXPRESSION_ERROR",
    "UNIT_ERROR",
    "Authorities",
    "Workflow",
    "WorkflowEntry",
    "WorkflowError",
    "WorkflowSession",
    "builtin_workflow",
    "builtin_workflows",
    "load_workflow",
]
