"""Read ``.gitlab-ci.yml`` as data: which jobs a pipeline gets, and how (``when``, variables).

GitLab decides a job's fate from its ``rules:`` — the first rule whose ``if:`` holds wins; ``when:
never`` drops the job. This evaluates the subset of GitLab's expression language the pipeline uses
(``$VAR``, ``"string"``, ``==``, ``!=``, ``&&``, ``||``, parentheses) and refuses anything else, so a
test can ask "what runs on a push to production?" and assert the release rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(r'\s*(\$[A-Za-z_][A-Za-z0-9_]*|"[^"]*"|\'[^\']*\'|==|!=|&&|\|\||\(|\))')
#: Top-level keys of a GitLab CI file that are not jobs.
RESERVED = frozenset(
    {"stages", "variables", "workflow", "default", "include", "image", "services", "cache"}
    | {"before_script", "after_script"}
)


class UnsupportedExpression(ValueError):
    """An ``if:`` uses syntax this reader does not evaluate (so a test cannot silently misread it)."""


def tokenize(expression: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(expression.rstrip()):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise UnsupportedExpression(f"cannot read {expression[position:]!r} in {expression!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[str], variables: dict[str, str]) -> None:
        self.tokens = tokens
        self.position = 0
        self.variables = variables

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise UnsupportedExpression("expression ends too early")
        self.position += 1
        return token

    def expression(self) -> bool:
        value = self.conjunction()
        while self.peek() == "||":
            self.take()
            right = self.conjunction()
            value = value or right
        return value

    def conjunction(self) -> bool:
        value = self.comparison()
        while self.peek() == "&&":
            self.take()
            right = self.comparison()
            value = value and right
        return value

    def comparison(self) -> bool:
        if self.peek() == "(":
            self.take()
            value = self.expression()
            if self.take() != ")":
                raise UnsupportedExpression("unbalanced parentheses")
            return value
        left = self.operand()
        if self.peek() in {"==", "!="}:
            operator = self.take()
            right = self.operand()
            return (left == right) if operator == "==" else (left != right)
        return bool(left)  # a bare variable: defined and not empty

    def operand(self) -> str | None:
        token = self.take()
        if token.startswith("$"):
            return self.variables.get(token[1:])
        if token[0] in "\"'":
            return token[1:-1]
        raise UnsupportedExpression(f"unexpected {token!r}")


def evaluate(expression: str, variables: dict[str, str]) -> bool:
    parser = _Parser(tokenize(expression), variables)
    value = parser.expression()
    if parser.peek() is not None:
        raise UnsupportedExpression(f"unexpected {parser.peek()!r} in {expression!r}")
    return value


@dataclass(frozen=True)
class Pipeline:
    """The predefined variables of one pipeline."""

    source: str  # push, merge_request_event, web
    branch: str | None = None
    open_merge_requests: bool = False

    def variables(self, ci: dict[str, Any]) -> dict[str, str]:
        values = {key: str(value) for key, value in (ci.get("variables") or {}).items()}
        values["CI_PIPELINE_SOURCE"] = self.source
        values["CI_DEFAULT_BRANCH"] = "master"
        if self.branch is not None:
            values["CI_COMMIT_BRANCH"] = self.branch
        if self.open_merge_requests:
            values["CI_OPEN_MERGE_REQUESTS"] = "lovia/billing!1"
        return values


@dataclass(frozen=True)
class Planned:
    """A job as it appears in a pipeline."""

    when: str = "on_success"
    allow_failure: bool = False
    variables: dict[str, str] = field(default_factory=dict)


def job_names(ci: dict[str, Any]) -> list[str]:
    return [name for name in ci if name not in RESERVED and not name.startswith(".")]


def resolved(ci: dict[str, Any], name: str) -> dict[str, Any]:
    """A job with its ``extends`` templates merged in (GitLab merges hashes deeply; one level here)."""
    job: dict[str, Any] = dict(ci[name])
    parents = job.get("extends", [])
    for parent in [parents] if isinstance(parents, str) else parents:
        job = {**resolved(ci, parent), **job}
    return job


def _first_rule(rules: list[dict[str, Any]], variables: dict[str, str]) -> dict[str, Any] | None:
    for rule in rules:
        if "if" not in rule or evaluate(str(rule["if"]), variables):
            return rule
    return None


def runs(ci: dict[str, Any], pipeline: Pipeline) -> bool:
    """Whether the workflow rules create a pipeline at all."""
    rules = (ci.get("workflow") or {}).get("rules")
    if not rules:
        return True
    rule = _first_rule(rules, pipeline.variables(ci))
    return rule is not None and rule.get("when", "always") != "never"


def plan(ci: dict[str, Any], pipeline: Pipeline) -> dict[str, Planned]:
    """The jobs of ``pipeline`` and how each is started (empty when no pipeline is created)."""
    if not runs(ci, pipeline):
        return {}
    variables = pipeline.variables(ci)
    planned: dict[str, Planned] = {}
    for name in job_names(ci):
        job = resolved(ci, name)
        job_variables = {key: str(value) for key, value in (job.get("variables") or {}).items()}
        rules = job.get("rules")
        if rules is None:
            planned[name] = Planned(variables=job_variables)
            continue
        rule = _first_rule(rules, {**variables, **job_variables})
        if rule is None or rule.get("when") == "never":
            continue
        when = str(rule.get("when", "on_success"))
        planned[name] = Planned(
            when=when,
            allow_failure=bool(rule.get("allow_failure", job.get("allow_failure", False))),
            variables={**job_variables, **{k: str(v) for k, v in (rule.get("variables") or {}).items()}},
        )
    return planned


def needs(ci: dict[str, Any], name: str) -> list[tuple[str, bool]]:
    """``(job, optional)`` for each job ``name`` needs."""
    found: list[tuple[str, bool]] = []
    for need in resolved(ci, name).get("needs", []):
        if isinstance(need, str):
            found.append((need, False))
        else:
            found.append((str(need["job"]), bool(need.get("optional", False))))
    return found
