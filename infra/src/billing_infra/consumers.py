"""A consumer: one Fargate service per integration, scaling on its queue's backlog per task."""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from billing_infra.environments import DeployEnvironment
from billing_infra.messaging import Messaging
from billing_infra.services import CONSUMER_HEALTHCHECK, HEALTH_FILE, Service
from billing_infra.tasks import TaskContext, fargate_service, task_definition
from lovia_billing.topology import Integration, publish_targets

#: Visible messages per running task above which another task is started.
BACKLOG_PER_TASK: Final = 100


def downstream_environment(integration: Integration, environment: DeployEnvironment) -> dict[str, str]:
    """The consumer's non-secret settings: its downstream API's base URL (and ChartMogul's source)."""
    base_urls = {
        Integration.XENDIT: ("XENDIT_BASE_URL", environment.xendit_base_url),
        Integration.ERPNEXT: ("ERPNEXT_BASE_URL", environment.erpnext_base_url),
        Integration.CHARTMOGUL: ("CHARTMOGUL_BASE_URL", environment.chartmogul_base_url),
        Integration.MAUTIC: ("MAUTIC_BASE_URL", environment.mautic_base_url),
    }
    name, url = base_urls[integration]
    settings = {name: url, "HEALTH_FILE": HEALTH_FILE}
    if integration is Integration.CHARTMOGUL:
        settings["CHARTMOGUL_DATA_SOURCE_UUID"] = environment.chartmogul_data_source_uuid
    return settings


def backlog_per_task(queue_metric: cloudwatch.IMetric, cluster: str, service: str) -> cloudwatch.IMetric:
    """Visible messages divided by running tasks (Container Insights), never dividing by zero."""
    tasks = cloudwatch.Metric(
        namespace="ECS/ContainerInsights",
        metric_name="RunningTaskCount",
        dimensions_map={"ClusterName": cluster, "ServiceName": service},
        statistic="Average",
        period=Duration.minutes(1),
    )
    return cloudwatch.MathExpression(
        expression="visible / IF(tasks > 0, tasks, 1)",
        using_metrics={"visible": queue_metric, "tasks": tasks},
        label="backlog per task",
        period=Duration.minutes(1),
    )


class ConsumerService(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, ctx: TaskContext, service: Service, messaging: Messaging
    ) -> None:
        super().__init__(scope, construct_id)
        assert service.integration is not None
        integration = service.integration
        task, self.log_group = task_definition(
            self,
            ctx,
            service,
            cpu=256,
            memory_mib=512,
            environment=downstream_environment(integration, ctx.environment),
            health_check=ecs.HealthCheck(
                command=["CMD", *CONSUMER_HEALTHCHECK.split()],
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                start_period=Duration.seconds(30),
                retries=3,
            ),
        )
        own_queue = messaging.queues[integration]
        own_queue.grant_consume_messages(task.task_role)
        # The runtime moves a message that can never succeed to its DLQ itself (send, then delete),
        # so the messages behind it in its group do not burn their receive counts.
        messaging.dlqs[integration].grant_send_messages(task.task_role)
        for target in publish_targets(integration):
            messaging.queues[target].grant_send_messages(task.task_role)
        messaging.grant_tables(task.task_role)
        self.service = fargate_service(self, ctx, service, task, desired=1)

        scaling = self.service.auto_scale_task_count(
            min_capacity=1, max_capacity=ctx.environment.consumer_max_tasks
        )
        visible = own_queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(1), statistic="Maximum"
        )
        scaling.scale_on_metric(
            "Backlog",
            metric=backlog_per_task(visible, ctx.environment.cluster_name, f"billing-{service.name}"),
            scaling_steps=[
                autoscaling.ScalingInterval(upper=0, change=-1),
                autoscaling.ScalingInterval(lower=BACKLOG_PER_TASK, change=+1),
                autoscaling.ScalingInterval(lower=BACKLOG_PER_TASK * 5, change=+3),
            ],
            adjustment_type=autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=Duration.minutes(2),
        )
