"""The daily reconciliation: ``billing reconcile --since yesterday --repair`` as a scheduled Fargate task.

An EventBridge rule starts one task a day (02:30 in Jakarta, after the day has closed). The task
reads Xendit and the books, repairs what it may by publishing the missed callback events to the
xendit queue, and prints CloudWatch EMF metrics (``reconcile_drift_found``, ``reconcile_unrepaired``,
``reconcile_runs`` in ``LoviaBilling``, dimension ``stage``) that its log group turns into metrics.
Two alarms go to the alarm topic: something was left unrepaired, or the run did not report at all.

Least privilege: the task may send to the xendit queue only (a repair goes through xendit_sync,
never to a downstream system's queue), read and record events in the ledger (as the ingest records
a callback), and read mautic_sync's billing facts in the idempotency table.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from billing_cli.reconcile.command import METRIC_RUNS, METRIC_UNREPAIRED, NAMESPACE
from billing_infra.environments import REGION
from billing_infra.messaging import Messaging
from billing_infra.nag import acknowledge
from billing_infra.services import RECONCILE
from billing_infra.tasks import TaskContext, task_definition
from lovia_billing.topology import Integration

#: 19:30 UTC is 02:30 in Jakarta: yesterday (Jakarta time) has closed, today has barely begun.
SCHEDULE_UTC: Final = {"hour": "19", "minute": "30"}
COMMAND: Final = [
    "billing",
    "reconcile",
    "--since",
    "yesterday",
    "--repair",
    "--metrics",
    "--report-dir",
    "/tmp/reconcile-reports",  # noqa: S108 - the task's own ephemeral storage; the log keeps the report
]
TIME_ZONE: Final = "Asia/Jakarta"
LEDGER_ACTIONS: Final = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
FACTS_ACTIONS: Final = ("dynamodb:GetItem", "dynamodb:BatchGetItem")


class ReconcileTask(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ctx: TaskContext,
        messaging: Messaging,
        alarm_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        environment = ctx.environment
        self.task, self.log_group = task_definition(
            self,
            ctx,
            RECONCILE,
            cpu=512,
            memory_mib=1024,
            environment={
                "XENDIT_BASE_URL": environment.xendit_base_url,
                "ERPNEXT_BASE_URL": environment.erpnext_base_url,
                "CHARTMOGUL_BASE_URL": environment.chartmogul_base_url,
                "CHARTMOGUL_DATA_SOURCE_UUID": environment.chartmogul_data_source_uuid,
                "MAUTIC_BASE_URL": environment.mautic_base_url,
                "RECONCILE_TIME_ZONE": TIME_ZONE,
            },
            health_check=None,
            command=COMMAND,
        )
        role = self.task.task_role
        messaging.queues[Integration.XENDIT].grant_send_messages(role)
        # The tables themselves, by ARN: ``Table.grant`` would add ``<ledger>/index/*`` (the ledger has
        # search indexes), a wildcard this task never needs (it reads and writes by event id only).
        iam.Grant.add_to_principal(
            grantee=role, actions=list(LEDGER_ACTIONS), resource_arns=[messaging.ledger.table_arn]
        )
        iam.Grant.add_to_principal(
            grantee=role, actions=list(FACTS_ACTIONS), resource_arns=[messaging.idempotency.table_arn]
        )
        self.rule = events.Rule(
            self,
            "Daily",
            rule_name=f"lovia-billing-{environment.stage}-reconcile",
            description="Daily: billing reconcile --since yesterday --repair",
            schedule=events.Schedule.cron(**SCHEDULE_UTC),
            enabled=ctx.desired_count_override != 0,  # not before the first images and secrets exist
        )
        self.rule.add_target(
            targets.EcsTask(
                cluster=ctx.cluster,
                task_definition=self.task,
                task_count=1,
                subnet_selection=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            )
        )
        self._acknowledge_task_tagging(ctx)
        self.alarms = self._alarms(environment.stage, alarm_topic)

    def _acknowledge_task_tagging(self, ctx: TaskContext) -> None:
        """The EcsTask target's role may tag the tasks it starts: ``task/<cluster>/*``, since a task's ARN
        is assigned when it starts. cdk-nag names the finding by that resource, cluster id included."""
        events_role = self.task.node.try_find_child("EventsRole")
        cluster = ctx.cluster.node.default_child
        if events_role is None or cluster is None:
            return
        stack = Stack.of(self)
        cluster_id = stack.resolve(stack.get_logical_id(cluster))  # type: ignore[arg-type]
        acknowledge(
            events_role,
            "IAM5",
            "EventBridge's role may tag the tasks it starts (ecs:TagResource on task/<cluster>/*): a "
            "task's ARN is assigned when it starts, so only the cluster can be named; RunTask itself is "
            "limited to this task definition on this cluster, and PassRole to its two roles.",
            finding=f"Resource::arn:<AWS::Partition>:ecs:{REGION}:*:task/<{cluster_id}>/*",
        )

    def _alarms(self, stage: str, topic: sns.ITopic) -> list[cloudwatch.Alarm]:
        def metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=NAMESPACE,
                metric_name=name,
                dimensions_map={"stage": stage},
                statistic=statistic,
                period=Duration.days(1),
            )

        unrepaired = metric(METRIC_UNREPAIRED, "Maximum").create_alarm(
            self,
            "Unrepaired",
            alarm_name=f"lovia-billing-{stage} reconciliation left drift unrepaired",
            alarm_description=(
                "The daily reconciliation found differences it must not repair (an amount that differs, "
                "a document cancelled by hand, an extra record) or could not: read its report in the "
                "task's log group and see docs/operations.md, 'Reconciliation'."
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        silent = metric(METRIC_RUNS, "Sum").create_alarm(
            self,
            "DidNotRun",
            alarm_name=f"lovia-billing-{stage} reconciliation did not report",
            alarm_description=(
                "No reconciliation reported in a day: the task did not start or stopped on an error (exit 2)."
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        action = cloudwatch_actions.SnsAction(topic)
        for alarm in (unrepaired, silent):
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        return [unrepaired, silent]
