"""Production alarms and the stage's dashboard, over the metrics the services and AWS write.

Every alarm notifies the stage's SNS topic when it fires and when it clears. The metrics come from:

- AWS: the load balancer (ELB and target 5xx, unhealthy hosts, requests), Container Insights
  (running and desired tasks per service), SQS (the queues' alarms live in ``messaging.py``);
- the consumers' EMF lines (namespace ``LoviaBilling``, dimension ``integration``): ``processed``,
  ``failed``, ``retried``, ``dead``, ``duplicate``, ``handler_latency``, ``message_age`` and the
  circuit breaker's ``breaker_open`` (1 while the integration's breaker is open);
- the daily reconcile task's EMF lines (namespace ``LoviaBilling``, dimension ``stage``):
  ``reconcile_drift_found`` and ``reconcile_unrepaired``, on the dashboard here; their alarms (drift
  left unrepaired, no run reported) live with the task in ``reconcile.py``;
- the ingest's log: a metric filter counts refused callbacks, the JSON log line the ingest writes
  once per refused request with ``route``, ``status`` (a JSON number) and ``error_code``.

The names are a contract with the code that writes them; docs/deploy.md ("Alarms") lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from billing_cli.reconcile.command import METRIC_DRIFT, METRIC_UNREPAIRED
from billing_cli.reconcile.command import NAMESPACE as RECONCILE_NAMESPACE
from billing_infra.messaging import Messaging
from lovia_billing.consumer._metrics import NAMESPACE as CONSUMER_NAMESPACE
from lovia_billing.topology import Integration

INGEST_NAMESPACE: Final = "LoviaBilling/Ingest"
REFUSED_CALLBACKS: Final = "RefusedCallbacks"
#: One JSON log line per refused request; a refused Xendit callback is a 401 on a webhook route.
REFUSED_CALLBACK_PATTERN: Final = '{ ($.status = 401) && ($.route = "/webhooks/xendit*") }'
BREAKER_OPEN: Final = "breaker_open"  # written by the consumer runtime (consumer/_metrics.py)
CONSUMER_FAILED: Final = "failed"

#: Thresholds (each alarm's description says what it means and what to do).
ELB_5XX_PER_5_MIN: Final = 10
TARGET_5XX_PERCENT: Final = 5
TARGET_5XX_MIN_REQUESTS: Final = 20  # below this many requests in 5 min a rate says nothing
REFUSED_CALLBACKS_PER_5_MIN: Final = 5
FAILED_PER_5_MIN: Final = 20
BREAKER_OPEN_MINUTES: Final = 15
UNHEALTHY_MINUTES: Final = 5
TASKS_SHORT_MINUTES: Final = 10


@dataclass(frozen=True)
class Watched:
    """What the alarms look at."""

    stage: str
    cluster_name: str
    load_balancer: elbv2.ApplicationLoadBalancer
    target_group: elbv2.ApplicationTargetGroup
    ingest_log_group: logs.ILogGroup
    services: dict[str, ecs.FargateService]  # service name -> service
    messaging: Messaging
    #: Alarms defined elsewhere (the reconcile task's), shown with these on the dashboard.
    other_alarms: tuple[cloudwatch.IAlarm, ...] = ()


def consumer_metric(name: str, integration: Integration, statistic: str = "Sum") -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=CONSUMER_NAMESPACE,
        metric_name=name,
        dimensions_map={"integration": integration.value},
        statistic=statistic,
        period=Duration.minutes(1) if statistic == "Maximum" else Duration.minutes(5),
    )


def task_count(cluster: str, service: str, metric_name: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="ECS/ContainerInsights",
        metric_name=metric_name,
        dimensions_map={"ClusterName": cluster, "ServiceName": service},
        statistic="Average",
        period=Duration.minutes(1),
    )


class Observability(Construct):
    """The stage's alarms (all to ``alarm_topic``) and its CloudWatch dashboard."""

    def __init__(
        self, scope: Construct, construct_id: str, *, watched: Watched, alarm_topic: sns.ITopic
    ) -> None:
        super().__init__(scope, construct_id)
        self._watched = watched
        self._action = cloudwatch_actions.SnsAction(alarm_topic)
        self.alarms: list[cloudwatch.Alarm] = []
        self.refused_callbacks = self._refused_callbacks_metric()
        self._load_balancer_alarms()
        self._task_alarms()
        self._consumer_alarms()
        self.dashboard = self._dashboard()

    # ---- alarms ----------------------------------------------------------------------------------

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        description: str,
        threshold: float,
        evaluation_periods: int = 1,
        datapoints: int | None = None,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"lovia-billing-{self._watched.stage} {construct_id}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints or evaluation_periods,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def _refused_callbacks_metric(self) -> cloudwatch.Metric:
        metric_filter = logs.MetricFilter(
            self,
            "RefusedCallbacksFilter",
            log_group=self._watched.ingest_log_group,
            filter_pattern=logs.FilterPattern.literal(REFUSED_CALLBACK_PATTERN),
            metric_namespace=INGEST_NAMESPACE,
            metric_name=REFUSED_CALLBACKS,
            metric_value="1",
            default_value=0,
        )
        return metric_filter.metric(statistic="Sum", period=Duration.minutes(5))

    def _load_balancer_alarms(self) -> None:
        watched = self._watched
        five_minutes = Duration.minutes(5)
        elb_5xx = watched.load_balancer.metrics.http_code_elb(
            elbv2.HttpCodeElb.ELB_5XX_COUNT, period=five_minutes, statistic="Sum"
        )
        self._alarm(
            "alb-5xx",
            elb_5xx,
            description=(
                f"The load balancer itself answered 5xx {ELB_5XX_PER_5_MIN}+ times in 5 min (no healthy "
                "task, or tasks refusing connections): check the ingest service's tasks and deployments."
            ),
            threshold=ELB_5XX_PER_5_MIN,
        )
        errors = watched.target_group.metrics.http_code_target(
            elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=five_minutes, statistic="Sum"
        )
        requests = watched.target_group.metrics.request_count(period=five_minutes, statistic="Sum")
        rate = cloudwatch.MathExpression(
            expression=f"IF(requests >= {TARGET_5XX_MIN_REQUESTS}, 100 * errors / requests, 0)",
            using_metrics={"errors": errors, "requests": requests},
            label="ingest 5xx %",
            period=five_minutes,
        )
        self._alarm(
            "target-5xx-rate",
            rate,
            description=(
                f"{TARGET_5XX_PERCENT}%+ of the ingest's answers were 5xx in two of three 5-min periods "
                "(503: queues unreachable; 500: a bug): see the ingest's log and the queues."
            ),
            threshold=TARGET_5XX_PERCENT,
            evaluation_periods=3,
            datapoints=2,
        )
        unhealthy = watched.target_group.metrics.unhealthy_host_count(
            period=Duration.minutes(1), statistic="Maximum"
        )
        self._alarm(
            "unhealthy-hosts",
            unhealthy,
            description=(
                f"An ingest task failed the load balancer's /health/ready check for {UNHEALTHY_MINUTES} "
                "min in a row: its queues are unreachable or it is overloaded."
            ),
            threshold=1,
            evaluation_periods=UNHEALTHY_MINUTES,
        )
        self._alarm(
            "refused-callbacks",
            self.refused_callbacks,
            description=(
                f"{REFUSED_CALLBACKS_PER_5_MIN}+ Xendit callbacks refused with 401 in each of two 5-min "
                "periods: the x-callback-token in the ingest's secret does not match Xendit's dashboard "
                "(a rotation half done?). Xendit retries for a while, then gives up."
            ),
            threshold=REFUSED_CALLBACKS_PER_5_MIN,
            evaluation_periods=2,
        )

    def _task_alarms(self) -> None:
        watched = self._watched
        for name in watched.services:
            service_name = f"billing-{name}"
            short = cloudwatch.MathExpression(
                expression="desired - running",
                using_metrics={
                    "desired": task_count(watched.cluster_name, service_name, "DesiredTaskCount"),
                    "running": task_count(watched.cluster_name, service_name, "RunningTaskCount"),
                },
                label=f"{service_name} tasks missing",
                period=Duration.minutes(1),
            )
            self._alarm(
                f"{name}-tasks-below-desired",
                short,
                description=(
                    f"{service_name} has run fewer tasks than desired for {TASKS_SHORT_MINUTES} min: tasks "
                    "crash or cannot start (image, secret, health check); see the service's events."
                ),
                threshold=1,
                evaluation_periods=TASKS_SHORT_MINUTES,
            )

    def _consumer_alarms(self) -> None:
        for integration in Integration:
            self._alarm(
                f"{integration}-failures",
                consumer_metric(CONSUMER_FAILED, integration),
                description=(
                    f"{integration}_sync failed {FAILED_PER_5_MIN}+ deliveries in each of two 5-min periods "
                    "(retried, not lost): the downstream API is failing or refusing; see its log."
                ),
                threshold=FAILED_PER_5_MIN,
                evaluation_periods=2,
            )
            self._alarm(
                f"{integration}-breaker-open",
                consumer_metric(BREAKER_OPEN, integration, statistic="Maximum"),
                description=(
                    f"{integration}_sync's circuit breaker has been open for {BREAKER_OPEN_MINUTES} min: "
                    f"the {integration} API is down or refusing us; messages wait in the queue."
                ),
                threshold=1,
                evaluation_periods=BREAKER_OPEN_MINUTES,
            )

    # ---- dashboard -------------------------------------------------------------------------------

    def _dashboard(self) -> cloudwatch.Dashboard:
        watched = self._watched
        five_minutes = Duration.minutes(5)
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"lovia-billing-{watched.stage}",
            default_interval=Duration.hours(6),
        )
        target_group = watched.target_group.metrics
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms",
                alarms=[*watched.messaging.alarms, *self.alarms, *watched.other_alarms],
                width=24,
                height=6,
            )
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Ingest requests and errors (5 min)",
                left=[
                    target_group.request_count(period=five_minutes, statistic="Sum"),
                    target_group.http_code_target(
                        elbv2.HttpCodeTarget.TARGET_4XX_COUNT, period=five_minutes, statistic="Sum"
                    ),
                    target_group.http_code_target(
                        elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=five_minutes, statistic="Sum"
                    ),
                    watched.load_balancer.metrics.http_code_elb(
                        elbv2.HttpCodeElb.ELB_5XX_COUNT, period=five_minutes, statistic="Sum"
                    ),
                    self.refused_callbacks,
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Ingest latency (p50, p99) and hosts",
                left=[
                    target_group.target_response_time(statistic="p50"),
                    target_group.target_response_time(statistic="p99"),
                ],
                right=[
                    target_group.healthy_host_count(statistic="Minimum"),
                    target_group.unhealthy_host_count(statistic="Maximum"),
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Running tasks per service",
                left=[
                    task_count(watched.cluster_name, f"billing-{name}", "RunningTaskCount")
                    for name in watched.services
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Queue backlog and oldest message (s)",
                left=[
                    queue.metric_approximate_number_of_messages_visible(statistic="Maximum")
                    for queue in watched.messaging.queues.values()
                ],
                right=[
                    queue.metric_approximate_age_of_oldest_message(statistic="Maximum")
                    for queue in watched.messaging.queues.values()
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Consumers: processed and failed (5 min)",
                left=[consumer_metric("processed", integration) for integration in Integration],
                right=[consumer_metric(CONSUMER_FAILED, integration) for integration in Integration],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Handler latency p99 and message age p99 (ms)",
                left=[
                    consumer_metric("handler_latency", integration, statistic="p99")
                    for integration in Integration
                ],
                right=[
                    consumer_metric("message_age", integration, statistic="p99")
                    for integration in Integration
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Dead letters and open breakers",
                left=[
                    dlq.metric_approximate_number_of_messages_visible(statistic="Maximum")
                    for dlq in watched.messaging.dlqs.values()
                ],
                right=[
                    consumer_metric(BREAKER_OPEN, integration, statistic="Maximum")
                    for integration in Integration
                ],
                width=12,
            ),
            # One run a day (billing_infra.reconcile), so one point a day per metric.
            cloudwatch.GraphWidget(
                title="Daily reconciliation: drift found and left unrepaired",
                left=[
                    cloudwatch.Metric(
                        namespace=RECONCILE_NAMESPACE,
                        metric_name=name,
                        dimensions_map={"stage": watched.stage},
                        statistic="Maximum",
                        period=Duration.days(1),
                    )
                    for name in (METRIC_DRIFT, METRIC_UNREPAIRED)
                ],
                width=12,
            ),
        )
        return dashboard
