"""A query's cost, checked before it runs: how many ledger and queue reads it may make at most.

Each field that reads has a cost (a page of events: 1; an integration summary, which reads up to
500 events: 5...); what is selected inside a page of events is paid once per event the page may
hold (its ``first``, or 100 when ``first`` is a variable). A timeline inside an event inside a page
of events therefore costs ``first`` times as much, so the nesting the schema allows (an event's
invoice, its events, their customer...) cannot fan out into thousands of reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
)
from strawberry.extensions import AddValidationRules

from ingest.graphql.types import DEFAULT_PAGE_SIZE
from lovia_billing.ledger_search import MAX_PAGE_SIZE

#: The most a document may cost.
MAX_COST: Final = 1000
#: Fields that read, by ``Type.field``; anything else is free (it is already in hand).
COSTS: Final[dict[str, int]] = {
    "Query.event": 1,
    "Query.events": 1,
    "Query.deadLetterQueues": 1,
    "Timeline.events": 1,
    "Timeline.integrations": 5,
    "Accepted.event": 1,
    "Mutation.upsertCustomer": 1,
    "Mutation.createInvoice": 1,
    "Mutation.cancelSubscription": 1,
}
#: Fields whose selections are paid per event of the page.
PAGES: Final = frozenset({"Query.events", "Timeline.events"})


def _page_size(field: FieldNode) -> int:
    for argument in field.arguments or ():
        if argument.name.value == "first":
            value = argument.value
            return int(value.value) if isinstance(value, IntValueNode) else MAX_PAGE_SIZE
    return DEFAULT_PAGE_SIZE


class _Cost:
    def __init__(self, context: ValidationContext) -> None:
        self.context = context

    def of(
        self, parent: GraphQLObjectType, selections: SelectionSetNode, times: int, seen: frozenset[str]
    ) -> int:
        total = 0
        for node, owner in self._fields(parent, selections, seen):
            definition = owner.fields.get(node.name.value)
            if definition is None:  # __typename, or an unknown field another rule reports
                continue
            key = f"{owner.name}.{node.name.value}"
            total += times * COSTS.get(key, 0)
            inner = get_named_type(definition.type)
            if node.selection_set is not None and isinstance(inner, GraphQLObjectType):
                each = times * _page_size(node) if key in PAGES else times
                total += self.of(inner, node.selection_set, each, seen)
        return total

    def _fields(
        self, parent: GraphQLObjectType, selections: SelectionSetNode, seen: frozenset[str]
    ) -> Iterator[tuple[FieldNode, GraphQLObjectType]]:
        """The fields selected on ``parent``, through inline fragments and fragment spreads."""
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(parent, selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                fragment = self.context.get_fragment(selection.name.value)
                if fragment is not None:
                    yield from self._fields(parent, fragment.selection_set, seen | {selection.name.value})


def cost_of(context: ValidationContext, operation: OperationDefinitionNode) -> int:
    schema = context.schema
    root = schema.mutation_type if operation.operation is OperationType.MUTATION else schema.query_type
    if root is None:
        return 0
    return _Cost(context).of(root, operation.selection_set, 1, frozenset())


def _rule(max_cost: int) -> type[ValidationRule]:
    class QueryCost(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            cost = cost_of(self.context, node)
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"query cost {cost} exceeds the maximum of {max_cost} "
                        "(a page's selections are paid per event it may hold: lower `first` or nest less)",
                        node,
                    )
                )

    return QueryCost


class QueryCostLimiter(AddValidationRules):
    """Refuses a document whose cost (see the module) is above ``max_cost``."""

    def __init__(self, max_cost: int = MAX_COST) -> None:
        super().__init__([_rule(max_cost)])
