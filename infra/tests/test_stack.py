"""The CDK stacks, checked on the synthesized templates (one synthesis per session)."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest

from billing_cli.reconcile.command import METRIC_RUNS, METRIC_UNREPAIRED, NAMESPACE
from billing_infra.app_secrets import SECRET_KEYS, secret_name
from billing_infra.environments import ENVIRONMENTS, REGION
from billing_infra.ingest import READINESS_PATH
from billing_infra.reconcile import COMMAND, SCHEDULE_UTC
from billing_infra.services import CONSUMERS, DEPLOYED, IMAGES, INGEST, RECONCILE, Service
from billing_infra.synth import Synthesis
from billing_infra.tasks import XRAY_ACTIONS
from billing_infra.workspace import tool
from lovia_billing.ledger_index import LEDGER_INDEXES
from lovia_billing.topology import (
    DLQ_RETENTION_SECONDS,
    MAX_RECEIVE_COUNT,
    VISIBILITY_TIMEOUT_SECONDS,
    Integration,
    Topology,
    publish_targets,
)

STAGES = sorted(ENVIRONMENTS)
Template = dict[str, Any]


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def logical_id(reference: Any) -> str | None:
    if isinstance(reference, dict):
        if "Ref" in reference:
            return str(reference["Ref"])
        if "Fn::GetAtt" in reference:
            return str(reference["Fn::GetAtt"][0])
    return None


def name_of(template: Template, reference: Any) -> str:
    """The queue, table or secret name a policy resource points at."""
    props = template["Resources"][logical_id(reference) or ""]["Properties"]
    return str(props.get("QueueName") or props.get("TableName") or props.get("Name"))


def dimension_values(template: Template, dimensions: list[dict[str, Any]]) -> set[str]:
    """A metric's dimension values, with queue references resolved to queue names."""
    return {name_of(template, d["Value"]) if logical_id(d["Value"]) else str(d["Value"]) for d in dimensions}


def app_container(template: Template, stage: str, service: Service) -> dict[str, Any]:
    """The service's own container (the task also runs the trace collector)."""
    containers = task_definition(template, stage, service)["Properties"]["ContainerDefinitions"]
    (container,) = [c for c in containers if c["Name"] == service.name]
    return dict(container)


def task_definition(template: Template, stage: str, service: Service) -> dict[str, Any]:
    family = f"lovia-billing-{stage}-{service.name}"
    (task,) = [
        t
        for t in resources(template, "AWS::ECS::TaskDefinition").values()
        if t["Properties"]["Family"] == family
    ]
    return task


def role_permissions(template: Template, role_reference: Any) -> dict[str, set[str]]:
    """``{action: {resource names}}`` granted to a role by the stack's inline policies."""
    role = logical_id(role_reference)
    granted: dict[str, set[str]] = {}
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for action in actions:
                for target in targets:
                    reference = logical_id(target)
                    if reference and template["Resources"][reference]["Type"] == "AWS::Logs::LogGroup":
                        continue
                    granted.setdefault(action, set()).add(_resource_name(template, target))
    return granted


def _resource_name(template: Template, target: Any) -> str:
    """A queue, table or secret name; ``<table>/index/<name>`` for an index's ARN (``Fn::Join``)."""
    parts = target.get("Fn::Join", ["", []])[1] if isinstance(target, dict) else []
    if len(parts) == 2 and logical_id(parts[0]) and str(parts[1]).startswith("/index/"):
        return name_of(template, parts[0]) + str(parts[1])
    return name_of(template, target) if logical_id(target) else str(target)


@pytest.mark.parametrize("stage", STAGES)
def test_queues_are_exactly_the_topology(synthesis: Synthesis, stage: str) -> None:
    template = synthesis.templates[stage]
    topology = Topology(stage)
    queues = {
        r["Properties"]["QueueName"]: r["Properties"] for r in resources(template, "AWS::SQS::Queue").values()
    }
    expected = {spec.name for spec in topology.queues()} | {spec.dlq_name for spec in topology.queues()}
    assert set(queues) == expected, "the stack's queues must be the topology's, no more, no fewer"
    for spec in topology.queues():
        queue, dlq = queues[spec.name], queues[spec.dlq_name]
        for props in (queue, dlq):
            assert props["FifoQueue"] is True
            assert props["ContentBasedDeduplication"] is True
            assert props["SqsManagedSseEnabled"] is True
            assert props["VisibilityTimeout"] == VISIBILITY_TIMEOUT_SECONDS
        assert dlq["MessageRetentionPeriod"] == DLQ_RETENTION_SECONDS == 14 * 24 * 3600
        assert "RedrivePolicy" not in dlq
        redrive = queue["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == MAX_RECEIVE_COUNT
        assert name_of(template, redrive["deadLetterTargetArn"]) == spec.dlq_name


@pytest.mark.parametrize("stage", STAGES)
def test_tables_have_their_keys_ttl_and_point_in_time_recovery(synthesis: Synthesis, stage: str) -> None:
    topology = Topology(stage)
    tables = {
        r["Properties"]["TableName"]: r["Properties"]
        for r in resources(synthesis.templates[stage], "AWS::DynamoDB::Table").values()
    }
    assert set(tables) == {topology.ledger_table, topology.idempotency_table}
    for name, key in ((topology.ledger_table, "event_id"), (topology.idempotency_table, "pk")):
        assert tables[name]["KeySchema"] == [{"AttributeName": key, "KeyType": "HASH"}]
        assert {"AttributeName": key, "AttributeType": "S"} in tables[name]["AttributeDefinitions"]
        assert tables[name]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert tables[topology.idempotency_table]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }
    assert "TimeToLiveSpecification" not in tables[topology.ledger_table]


@pytest.mark.parametrize("stage", STAGES)
def test_ledger_has_the_indexes_the_search_uses(synthesis: Synthesis, stage: str) -> None:
    (ledger,) = [
        r["Properties"]
        for r in resources(synthesis.templates[stage], "AWS::DynamoDB::Table").values()
        if r["Properties"]["TableName"] == Topology(stage).ledger_table
    ]
    indexes = {i["IndexName"]: i for i in ledger["GlobalSecondaryIndexes"]}
    assert set(indexes) == {index.name for index in LEDGER_INDEXES}
    for index in LEDGER_INDEXES:
        assert indexes[index.name]["KeySchema"] == [
            {"AttributeName": index.partition, "KeyType": "HASH"},
            {"AttributeName": index.sort, "KeyType": "RANGE"},
        ]
        assert indexes[index.name]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    defined = {d["AttributeName"]: d["AttributeType"] for d in ledger["AttributeDefinitions"]}
    assert defined == dict.fromkeys(
        {"event_id", *(a for i in LEDGER_INDEXES for a in (i.partition, i.sort))}, "S"
    )


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("service", DEPLOYED, ids=lambda s: s.name)
def test_task_role_is_least_privilege(synthesis: Synthesis, stage: str, service: Service) -> None:
    template = synthesis.templates[stage]
    topology = Topology(stage)
    granted = role_permissions(
        template, task_definition(template, stage, service)["Properties"]["TaskRoleArn"]
    )
    if service.integration is None:  # the ingest routes to every source queue
        receives: set[str] = set()
        sends = {topology.queue_name(integration) for integration in Integration}
    else:
        receives = {topology.queue_name(service.integration)}
        sends = {topology.queue_name(target) for target in publish_targets(service.integration)}
        sends.add(topology.dlq_name(service.integration))  # the runtime dead-letters directly
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"):
        assert granted.get(action, set()) == receives, action
    assert granted.get("sqs:SendMessage", set()) == sends
    tables = {topology.ledger_table, topology.idempotency_table}
    for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"):
        assert granted[action] == tables, action
    if service.integration is None:  # the GraphQL API and the console search the ledger's indexes
        indexes = {f"{topology.ledger_table}/index/{index.name}" for index in LEDGER_INDEXES}
        assert granted["dynamodb:Query"] == tables | indexes
        # ...and show the depth of every DLQ, reading none of its messages.
        assert granted["sqs:GetQueueAttributes"] >= {topology.dlq_name(i) for i in Integration}
    else:
        assert granted["dynamodb:Query"] == tables
    # X-Ray's trace-writing actions take no resource but "*" (acknowledged IAM5, see tasks.py).
    assert {a: granted.pop(a) for a in XRAY_ACTIONS} == {key: {"*"} for key in XRAY_ACTIONS}
    assert all("*" not in target for targets in granted.values() for target in targets)
    assert not [a for a in granted if not a.startswith(("sqs:", "dynamodb:"))]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("service", IMAGES, ids=lambda s: s.name)
def test_container_pulls_with_registry_credentials_and_gets_only_its_secrets(
    synthesis: Synthesis, stage: str, service: Service
) -> None:
    template = synthesis.templates[stage]
    task = task_definition(template, stage, service)["Properties"]
    container = app_container(template, stage, service)
    registry = container["RepositoryCredentials"]["CredentialsParameter"]
    assert name_of(template, registry) == secret_name(stage, "gitlab-registry")
    assert sorted(s["Name"] for s in container["Secrets"]) == sorted(SECRET_KEYS[service.name])
    plain = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert plain["BILLING_STAGE"] == stage
    assert not [name for name in plain if name in {k for keys in SECRET_KEYS.values() for k in keys}]
    execution = role_permissions(template, task["ExecutionRoleArn"])
    assert execution["secretsmanager:GetSecretValue"] == {
        secret_name(stage, "gitlab-registry"),
        secret_name(stage, service.name),
    }
    assert set(execution) <= {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert container["StopTimeout"] == 30


@pytest.mark.parametrize("stage", STAGES)
def test_ingest_is_behind_the_load_balancer_on_its_host_name(synthesis: Synthesis, stage: str) -> None:
    template = synthesis.templates[stage]
    (group,) = resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert group["Properties"]["HealthCheckPath"] == READINESS_PATH
    assert group["Properties"]["Port"] == 3005
    (rule,) = resources(template, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    (condition,) = rule["Properties"]["Conditions"]
    assert condition["HostHeaderConfig"]["Values"] == [f"billing-v6-{stage}.lovia.life"]
    assert logical_id(rule["Properties"]["Actions"][0]["TargetGroupArn"]) in resources(
        template, "AWS::ElasticLoadBalancingV2::TargetGroup"
    )
    listeners = {
        r["Properties"]["Port"]: r["Properties"]
        for r in resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    }
    assert listeners[443]["Protocol"] == "HTTPS"
    assert listeners[80]["DefaultActions"][0]["Type"] == "redirect"
    container = app_container(template, stage, INGEST)
    assert container["HealthCheck"]["Command"] == ["CMD-SHELL", "curl -f http://localhost:3005/ || exit 1"]
    plain = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert plain["PUBLIC_BASE_URL"] == f"https://billing-v6-{stage}.lovia.life"  # the OpenAPI server


@pytest.mark.parametrize("service", CONSUMERS, ids=lambda s: s.name)
def test_consumer_container_health_check_is_the_heartbeat(synthesis: Synthesis, service: Service) -> None:
    container = app_container(synthesis.templates["staging"], "staging", service)
    assert container["HealthCheck"]["Command"] == [
        "CMD",
        "python",
        "-m",
        "lovia_billing.consumer.healthcheck",
    ]


def test_production_ingest_runs_two_tasks_across_two_availability_zones(synthesis: Synthesis) -> None:
    template = synthesis.templates["production"]
    ((service_id, service),) = [
        (lid, s)
        for lid, s in resources(template, "AWS::ECS::Service").items()
        if s["Properties"]["ServiceName"] == "billing-ingest"
    ]
    assert service["Properties"]["DesiredCount"] >= 2
    subnets = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
    zones = {template["Resources"][logical_id(s) or ""]["Properties"]["AvailabilityZone"] for s in subnets}
    assert len(zones) >= 2
    (target,) = [
        t
        for t in resources(template, "AWS::ApplicationAutoScaling::ScalableTarget").values()
        if service_id in str(t["Properties"]["ResourceId"])
    ]
    assert target["Properties"]["MinCapacity"] >= 2
    assert service["Properties"]["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("service", CONSUMERS, ids=lambda s: s.name)
def test_consumer_scales_on_its_own_queue_backlog_per_task(
    synthesis: Synthesis, stage: str, service: Service
) -> None:
    template = synthesis.templates[stage]
    queue = Topology(stage).queue_name(service.integration or "")
    alarms = [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if "Metrics" in a["Properties"]
        and any(
            queue in dimension_values(template, m["MetricStat"]["Metric"]["Dimensions"])
            for m in a["Properties"]["Metrics"]
            if "MetricStat" in m
        )
    ]
    assert len(alarms) == 2, "one scale-out and one scale-in alarm on the queue's backlog"
    for alarm in alarms:
        metrics = {m["Id"]: m for m in alarm["Metrics"]}
        assert (
            metrics["visible"]["MetricStat"]["Metric"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        )
        assert metrics["tasks"]["MetricStat"]["Metric"]["MetricName"] == "RunningTaskCount"
        assert f"billing-{service.name}" in str(metrics["tasks"]["MetricStat"]["Metric"]["Dimensions"])
        assert any("visible / " in m.get("Expression", "") for m in alarm["Metrics"])
    (service_id,) = [
        lid
        for lid, s in resources(template, "AWS::ECS::Service").items()
        if s["Properties"]["ServiceName"] == f"billing-{service.name}"
    ]
    targets = {
        lid: t["Properties"]
        for lid, t in resources(template, "AWS::ApplicationAutoScaling::ScalableTarget").items()
        if service_id in str(t["Properties"]["ResourceId"])
    }
    ((target_id, target),) = targets.items()
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, ENVIRONMENTS[stage].consumer_max_tasks)
    steps = [
        p["Properties"]["StepScalingPolicyConfiguration"]
        for p in resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if p["Properties"]["PolicyType"] == "StepScaling"
        and logical_id(p["Properties"]["ScalingTargetId"]) == target_id
    ]
    adjustments = sorted(a["ScalingAdjustment"] for step in steps for a in step["StepAdjustments"])
    assert adjustments[0] < 0 < adjustments[-1], "scales both out and in"


@pytest.mark.parametrize("stage", STAGES)
def test_alarms_on_any_dlq_message_and_on_the_oldest_message(synthesis: Synthesis, stage: str) -> None:
    template = synthesis.templates[stage]
    alarms = [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if "MetricName" in a["Properties"]
    ]
    for spec in Topology(stage).queues():
        (dead,) = [
            a
            for a in alarms
            if a["MetricName"] == "ApproximateNumberOfMessagesVisible"
            and spec.dlq_name in dimension_values(template, a["Dimensions"])
        ]
        assert (dead["Threshold"], dead["ComparisonOperator"]) == (0, "GreaterThanThreshold")
        assert dead["AlarmActions"]
        (old,) = [
            a
            for a in alarms
            if a["MetricName"] == "ApproximateAgeOfOldestMessage"
            and spec.name in dimension_values(template, a["Dimensions"])
        ]
        assert old["AlarmActions"]


@pytest.mark.parametrize("stage", STAGES)
def test_registries_scan_on_push_and_expire_images(synthesis: Synthesis, stage: str) -> None:
    repositories = resources(synthesis.templates[stage], "AWS::ECR::Repository").values()
    assert {r["Properties"]["RepositoryName"] for r in repositories} == {
        f"lovia-billing/{stage}/{s.name}" for s in IMAGES
    }
    for repository in repositories:
        assert repository["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert repository["Properties"]["ImageTagMutability"] == "IMMUTABLE"
        assert "LifecyclePolicyText" in repository["Properties"]["LifecyclePolicy"]


@pytest.mark.parametrize("stage", STAGES)
def test_log_groups_keep_logs_for_a_bounded_time(synthesis: Synthesis, stage: str) -> None:
    groups = resources(synthesis.templates[stage], "AWS::Logs::LogGroup").values()
    names = {g["Properties"].get("LogGroupName") for g in groups}
    assert {f"/lovia-billing/{stage}/{s.name}" for s in IMAGES} <= names
    for group in groups:
        assert (
            group["Properties"]["RetentionInDays"] == ENVIRONMENTS[stage].log_retention_days
            or "LogGroupName" not in group["Properties"]
        )


@pytest.mark.parametrize("stage", STAGES)
def test_reconcile_runs_daily_as_a_scheduled_task_with_its_command(synthesis: Synthesis, stage: str) -> None:
    template = synthesis.templates[stage]
    container = app_container(template, stage, RECONCILE)  # beside it, the trace collector
    assert container["Command"] == COMMAND
    assert container["Command"][:6] == [
        "billing",
        "reconcile",
        "--since",
        "yesterday",
        "--repair",
        "--metrics",
    ]
    assert "HealthCheck" not in container
    plain = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert plain["BILLING_STAGE"] == stage
    assert plain["XENDIT_BASE_URL"] == ENVIRONMENTS[stage].xendit_base_url
    assert plain["RECONCILE_TIME_ZONE"] == "Asia/Jakarta"
    ((rule_id, rule),) = resources(template, "AWS::Events::Rule").items()
    props = rule["Properties"]
    assert props["ScheduleExpression"] == f"cron({SCHEDULE_UTC['minute']} {SCHEDULE_UTC['hour']} * * ? *)"
    assert props["State"] == "ENABLED"
    (target,) = props["Targets"]
    assert logical_id(target["EcsParameters"]["TaskDefinitionArn"]) == logical_id(
        {"Ref": task_id(template, stage)}
    )
    assert target["EcsParameters"]["TaskCount"] == 1
    assert target["EcsParameters"]["LaunchType"] == "FARGATE"
    network = target["EcsParameters"]["NetworkConfiguration"]["AwsVpcConfiguration"]
    assert network.get("AssignPublicIp", "DISABLED") == "DISABLED"
    assert rule_id


def task_id(template: Template, stage: str) -> str:
    family = f"lovia-billing-{stage}-{RECONCILE.name}"
    (found,) = [
        lid
        for lid, t in resources(template, "AWS::ECS::TaskDefinition").items()
        if t["Properties"]["Family"] == family
    ]
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_reconcile_may_read_what_it_needs_and_send_only_to_the_xendit_queue(
    synthesis: Synthesis, stage: str
) -> None:
    template = synthesis.templates[stage]
    topology = Topology(stage)
    granted = role_permissions(
        template, task_definition(template, stage, RECONCILE)["Properties"]["TaskRoleArn"]
    )
    assert granted["sqs:SendMessage"] == {topology.queue_name(Integration.XENDIT)}
    for action in (
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:PurgeQueue",
    ):
        assert action not in granted, action
    # The ledger: read, and record the callback events it publishes (as the ingest does).
    for action in ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"):
        assert topology.ledger_table in granted[action], action
    # The idempotency table: read mautic_sync's billing facts, never write (no claims, no facts).
    assert granted["dynamodb:BatchGetItem"] == {topology.ledger_table, topology.idempotency_table}
    for action in (
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
    ):
        assert topology.idempotency_table not in granted.get(action, set()), action
    assert "dynamodb:DeleteItem" not in granted
    assert "dynamodb:Scan" not in granted
    # The trace collector sidecar every task runs: X-Ray takes only "*" (acknowledged IAM5, tasks.py).
    assert {a: granted.pop(a) for a in XRAY_ACTIONS} == {key: {"*"} for key in XRAY_ACTIONS}
    assert all("*" not in target for targets in granted.values() for target in targets)
    assert not [a for a in granted if not a.startswith(("sqs:", "dynamodb:"))]


@pytest.mark.parametrize("stage", STAGES)
def test_reconcile_alarms_when_drift_is_left_unrepaired_or_it_does_not_report(
    synthesis: Synthesis, stage: str
) -> None:
    alarms = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in resources(synthesis.templates[stage], "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == NAMESPACE
    }
    unrepaired, silent = alarms[METRIC_UNREPAIRED], alarms[METRIC_RUNS]
    for alarm in (unrepaired, silent):
        assert alarm["Dimensions"] == [{"Name": "stage", "Value": stage}]
        assert alarm["AlarmActions"]
        assert alarm["Period"] == 86400
    assert (unrepaired["Threshold"], unrepaired["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert unrepaired["TreatMissingData"] == "notBreaching"
    assert (silent["Threshold"], silent["ComparisonOperator"]) == (1, "LessThanThreshold")
    assert silent["TreatMissingData"] == "breaching"


def test_cdk_nag_finds_nothing_unacknowledged(synthesis: Synthesis) -> None:
    findings = [
        f"{v['ruleName']} {[r['constructPath'] for r in v['violatingResources']]}"
        for v in synthesis.violations
    ]
    assert not findings


def test_every_cdk_nag_acknowledgment_is_deliberate_and_explained(synthesis: Synthesis) -> None:
    ours = {
        rule: reason
        for rules in synthesis.acknowledged.values()
        for rule, reason in rules.items()
        if "AwsSolutions-" in rule
    }
    acknowledged = {rule.removeprefix("AwsSolutions::") for rule in ours}
    # EventBridge tagging the reconcile tasks it starts (billing_infra.reconcile): only the cluster's
    # tasks, named by the cluster's logical id; never a bare "*".
    task_tagging = re.compile(
        rf"AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:ecs:{REGION}:\*:task/<Cluster[0-9A-F]{{8}}>/\*\]"
    )
    tagging = {rule for rule in acknowledged if task_tagging.fullmatch(rule)}
    assert len(tagging) == 1, acknowledged
    assert acknowledged - tagging == {
        "AwsSolutions-ECS2",
        "AwsSolutions-EC23",
        "AwsSolutions-IAM5[Resource::*]",  # X-Ray only; any other wildcard still fails
        "AwsSolutions-S1",
        "AwsSolutions-SMG4",
    }
    assert all(len(reason) > 60 for reason in ours.values())


def test_cfn_lint_accepts_the_templates(synthesis: Synthesis) -> None:
    # W3010 (hard-coded availability zones) is deliberate: fixed zones keep synthesis free of look-ups.
    result = subprocess.run(
        [tool("cfn-lint"), "--ignore-checks", "W3010", "--", *map(str, synthesis.template_files.values())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
