"""Production observability in the templates: alarms to the stage's topic, a dashboard, traces."""

from __future__ import annotations

import json
from typing import Any

import pytest

from billing_cli.reconcile.command import METRIC_DRIFT, METRIC_UNREPAIRED
from billing_cli.reconcile.command import NAMESPACE as RECONCILE_NAMESPACE
from billing_infra import observability
from billing_infra.environments import ENVIRONMENTS
from billing_infra.services import DEPLOYED
from billing_infra.synth import Synthesis
from billing_infra.tasks import OTLP_ENDPOINT
from lovia_billing.consumer._metrics import NAMESPACE
from lovia_billing.topology import Integration

STAGES = sorted(ENVIRONMENTS)
Template = dict[str, Any]


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def alarm_topic(template: Template, stage: str) -> str:
    (topic_id,) = [
        lid
        for lid, t in resources(template, "AWS::SNS::Topic").items()
        if t["Properties"]["TopicName"] == f"lovia-billing-{stage}-alarms"
    ]
    return topic_id


def acts_on_scaling(template: Template, alarm: dict[str, Any]) -> bool:
    targets = [
        template["Resources"].get(action.get("Ref", ""), {}) for action in alarm.get("AlarmActions", [])
    ]
    return any(t.get("Type") == "AWS::ApplicationAutoScaling::ScalingPolicy" for t in targets)


def all_alarms(template: Template) -> list[dict[str, Any]]:
    return [a["Properties"] for a in resources(template, "AWS::CloudWatch::Alarm").values()]


def alarms(template: Template) -> list[dict[str, Any]]:
    """The alarms for people (the consumers' step-scaling alarms act on scaling policies)."""
    return [a for a in all_alarms(template) if not acts_on_scaling(template, a)]


def metric_names(alarm: dict[str, Any]) -> set[str]:
    if "MetricName" in alarm:
        return {alarm["MetricName"]}
    return {m["MetricStat"]["Metric"]["MetricName"] for m in alarm.get("Metrics", []) if "MetricStat" in m}


def dimensions(alarm: dict[str, Any]) -> str:
    """Every dimension of the alarm's metrics, as text (values may be references)."""
    if "Dimensions" in alarm:
        return json.dumps(alarm["Dimensions"])
    metrics = alarm.get("Metrics", [])
    return json.dumps([m["MetricStat"]["Metric"].get("Dimensions") for m in metrics if "MetricStat" in m])


def named(template: Template, metric: str, dimension_text: str = "") -> list[dict[str, Any]]:
    return [a for a in alarms(template) if metric in metric_names(a) and dimension_text in dimensions(a)]


def notifies_topic(alarm: dict[str, Any], topic_id: str) -> bool:
    return bool(alarm["AlarmActions"] == [{"Ref": topic_id}] and alarm["OKActions"] == [{"Ref": topic_id}])


@pytest.mark.parametrize("stage", STAGES)
def test_every_alarm_notifies_the_stages_topic_on_fire_and_clear(synthesis: Synthesis, stage: str) -> None:
    template = synthesis.templates[stage]
    topic = alarm_topic(template, stage)
    scaling = [a for a in all_alarms(template) if acts_on_scaling(template, a)]
    operational = alarms(template)
    queues = 2 * len(Integration)  # DLQ not empty, oldest message (messaging.py)
    load_balancer = 4  # ELB 5xx, target 5xx rate, unhealthy hosts, refused callbacks
    per_integration = 2 * len(Integration)  # failures, breaker open
    reconcile = 2  # drift left unrepaired, no run reported (reconcile.py)
    assert len(operational) == queues + load_balancer + len(DEPLOYED) + per_integration + reconcile
    assert len(scaling) == 2 * len(Integration)
    assert all(notifies_topic(alarm, topic) for alarm in operational)


@pytest.mark.parametrize("stage", STAGES)
def test_load_balancer_alarms(synthesis: Synthesis, stage: str) -> None:
    template = synthesis.templates[stage]
    (elb,) = named(template, "HTTPCode_ELB_5XX_Count")
    assert elb["Threshold"] == observability.ELB_5XX_PER_5_MIN
    (rate,) = named(template, "HTTPCode_Target_5XX_Count")
    assert metric_names(rate) == {"HTTPCode_Target_5XX_Count", "RequestCount"}
    (expression,) = [m["Expression"] for m in rate["Metrics"] if "Expression" in m]
    assert "100 * errors / requests" in expression
    assert rate["Threshold"] == observability.TARGET_5XX_PERCENT
    (unhealthy,) = named(template, "UnHealthyHostCount")
    assert unhealthy["Threshold"] == 1
    assert unhealthy["EvaluationPeriods"] == unhealthy["DatapointsToAlarm"] == observability.UNHEALTHY_MINUTES


@pytest.mark.parametrize("stage", STAGES)
def test_running_below_desired_alarms_for_every_service(synthesis: Synthesis, stage: str) -> None:
    template = synthesis.templates[stage]
    for service in DEPLOYED:
        (alarm,) = named(template, "RunningTaskCount", f'"billing-{service.name}"')
        alarm_ids = {m["Id"]: m for m in alarm["Metrics"]}
        assert alarm_ids["desired"]["MetricStat"]["Metric"]["MetricName"] == "DesiredTaskCount"
        assert any(m.get("Expression") == "desired - running" for m in alarm["Metrics"])
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
        assert f"lovia-billing-{stage}" in dimensions(alarm)


@pytest.mark.parametrize("stage", STAGES)
def test_refused_callbacks_are_counted_from_the_ingest_log_and_alarmed(
    synthesis: Synthesis, stage: str
) -> None:
    template = synthesis.templates[stage]
    (metric_filter,) = resources(template, "AWS::Logs::MetricFilter").values()
    properties = metric_filter["Properties"]
    assert properties["FilterPattern"] == observability.REFUSED_CALLBACK_PATTERN
    assert "$.status = 401" in properties["FilterPattern"]
    log_group = template["Resources"][properties["LogGroupName"]["Ref"]]["Properties"]["LogGroupName"]
    assert log_group == f"/lovia-billing/{stage}/ingest"
    (transformation,) = properties["MetricTransformations"]
    assert transformation["MetricName"] == observability.REFUSED_CALLBACKS
    assert transformation["DefaultValue"] == 0
    (alarm,) = named(template, observability.REFUSED_CALLBACKS)
    assert alarm["Namespace"] == observability.INGEST_NAMESPACE


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("integration", list(Integration), ids=str)
def test_consumer_alarms_per_integration(synthesis: Synthesis, stage: str, integration: Integration) -> None:
    template = synthesis.templates[stage]
    dimension = json.dumps([{"Name": "integration", "Value": integration.value}])
    for metric in ("failed", "breaker_open"):
        (alarm,) = [a for a in named(template, metric) if dimensions(a) == dimension]
        assert alarm["Namespace"] == NAMESPACE == "LoviaBilling"
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    (breaker,) = [a for a in named(template, "breaker_open") if dimensions(a) == dimension]
    assert breaker["Statistic"] == "Maximum"
    assert breaker["EvaluationPeriods"] == breaker["DatapointsToAlarm"] == observability.BREAKER_OPEN_MINUTES


@pytest.mark.parametrize("stage", STAGES)
def test_drift_is_alarmed_only_on_the_metrics_the_reconcile_task_emits(
    synthesis: Synthesis, stage: str
) -> None:
    # Nothing writes per-integration drift metrics: the reconcile task writes per stage (reconcile.py).
    template = synthesis.templates[stage]
    drift = [a for a in alarms(template) if any("drift" in m.lower() for m in metric_names(a))]
    drift += named(template, METRIC_UNREPAIRED)
    assert drift, "the reconcile task's unrepaired alarm exists"
    for alarm in drift:
        assert metric_names(alarm) <= {METRIC_DRIFT, METRIC_UNREPAIRED}
        assert alarm["Namespace"] == RECONCILE_NAMESPACE
        assert alarm["Dimensions"] == [{"Name": "stage", "Value": stage}]


@pytest.mark.parametrize("stage", STAGES)
def test_a_dashboard_per_stage_shows_the_alarms_and_every_integration(
    synthesis: Synthesis, stage: str
) -> None:
    (dashboard,) = resources(synthesis.templates[stage], "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == f"lovia-billing-{stage}"
    body = dashboard_text(dashboard["Properties"]["DashboardBody"])
    for needle in (
        "alarms",
        "handler_latency",
        "message_age",
        "breaker_open",
        "RunningTaskCount",
    ):
        assert needle in body, needle
    for integration in Integration:
        assert integration.value in body
    # Reconciliation: the metrics the reconcile task really writes, for this stage.
    for metric in (METRIC_DRIFT, METRIC_UNREPAIRED):
        series = json.dumps([RECONCILE_NAMESPACE, metric, "stage", stage], separators=(",", ":"))
        assert series.strip("[]") in body, metric
    assert "DriftFound" not in body
    assert "DriftUnrepaired" not in body
    # The alarm widget shows every alarm that pages (the DLQs', the reconcile task's too); the
    # autoscaling policies' own alarms only scale.
    raw = dashboard["Properties"]["DashboardBody"]
    shown = {
        part["Fn::GetAtt"][0]
        for part in raw["Fn::Join"][1]
        if isinstance(part, dict) and "Fn::GetAtt" in part
    }
    template = synthesis.templates[stage]
    (topic,) = resources(template, "AWS::SNS::Topic")
    alarms = {
        logical_id
        for logical_id, alarm in resources(template, "AWS::CloudWatch::Alarm").items()
        if {"Ref": topic} in alarm["Properties"].get("AlarmActions", [])
    }
    assert any("Reconcile" in logical_id for logical_id in alarms)
    assert alarms <= shown, f"alarms not on the dashboard: {sorted(alarms - shown)}"


def dashboard_text(body: Any) -> str:
    """The dashboard's JSON with CloudFormation references left out (``Fn::Join`` of text and refs)."""
    if isinstance(body, str):
        return body
    return "".join(part for part in body["Fn::Join"][1] if isinstance(part, str))


@pytest.mark.parametrize("stage", STAGES)
def test_every_task_sends_traces_to_its_collector_sidecar(synthesis: Synthesis, stage: str) -> None:
    template = synthesis.templates[stage]
    for task in resources(template, "AWS::ECS::TaskDefinition").values():
        containers = {c["Name"]: c for c in task["Properties"]["ContainerDefinitions"]}
        collector = containers.pop("otel-collector")
        assert collector["Essential"] is False  # a collector failure never stops the service
        assert collector["Image"].startswith("public.ecr.aws/aws-observability/aws-otel-collector:v")
        ((name, app),) = containers.items()
        plain = {e["Name"]: e["Value"] for e in app["Environment"]}
        assert plain["OTEL_EXPORTER_OTLP_ENDPOINT"] == OTLP_ENDPOINT
        assert plain["OTEL_SERVICE_NAME"] == f"billing-{name}"
        ratio = float(plain["OTEL_TRACES_SAMPLER_ARG"])
        assert ratio == ENVIRONMENTS[stage].trace_sample_ratio
        assert 0 < ratio <= 1
