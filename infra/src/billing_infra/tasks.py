"""What every Fargate task of the stack shares: image, logs, secrets, roles, traces, safe deployments.

Traces: each task runs the AWS Distro for OpenTelemetry collector as a sidecar; the service sends
OTLP to it on localhost (``OTEL_EXPORTER_OTLP_ENDPOINT``) and it forwards to X-Ray. Without that
variable (local runs) the services make no spans at all (``lovia_billing.tracing``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from billing_infra.app_secrets import AppSecrets
from billing_infra.environments import GITLAB_REGISTRY_IMAGE, REGION, DeployEnvironment
from billing_infra.nag import acknowledge
from billing_infra.services import Service

_RETENTION = {30: logs.RetentionDays.ONE_MONTH, 365: logs.RetentionDays.ONE_YEAR}
#: Fargate's grace period between SIGTERM and SIGKILL; the services drain in-flight work within it.
STOP_TIMEOUT = Duration.seconds(30)
PLAIN_ENVIRONMENT = (
    "Only non-secret settings (stage, region, log level, base URLs, port) are plain environment "
    "variables; every credential is injected from Secrets Manager as a container secret."
)
#: The ADOT collector, pinned to a release; its bundled ECS configuration receives OTLP on
#: localhost:4317/4318 and exports traces to X-Ray.
COLLECTOR_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.48.0"
COLLECTOR_CONFIG = "--config=/etc/ecs/ecs-default-config.yaml"
OTLP_ENDPOINT = "http://localhost:4318"
XRAY_ACTIONS = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)
XRAY_ANY_RESOURCE = (
    "X-Ray's trace-writing actions (PutTraceSegments, PutTelemetryRecords, GetSamplingRules, "
    "GetSamplingTargets) support no resource-level permissions: '*' is the only resource they take."
)


@dataclass(frozen=True)
class TaskContext:
    """The stack-wide pieces a service's task definition is built from."""

    environment: DeployEnvironment
    cluster: ecs.Cluster
    secrets: AppSecrets
    repositories: dict[str, ecr.Repository]
    image_digests: dict[str, str]  # service name -> digest (a stack parameter's value)
    desired_count_override: int | None  # 0 on the first deploy, before secrets and images exist

    def image(self, service: Service) -> ecs.ContainerImage:
        """The service's image by digest, from GitLab's registry (or this stack's ECR)."""
        digest = self.image_digests[service.name]
        if self.environment.image_source == "ecr":
            repository = self.repositories[service.name]
            return ecs.ContainerImage.from_registry(f"{repository.repository_uri}@{digest}")
        # repositoryCredentials: the execution role may read this one secret to pull the image.
        return ecs.ContainerImage.from_registry(
            f"{GITLAB_REGISTRY_IMAGE}/{service.name}@{digest}",
            credentials=self.secrets.registry_credentials,
        )

    def common_environment(self, service: Service) -> dict[str, str]:
        return {
            "BILLING_STAGE": self.environment.stage,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "LOG_LEVEL": "INFO",
            # OpenTelemetry SDK settings (read by the SDK itself): spans go to the sidecar.
            "OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_ENDPOINT,
            "OTEL_SERVICE_NAME": f"billing-{service.name}",
            "OTEL_RESOURCE_ATTRIBUTES": f"deployment.environment={self.environment.stage}",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": str(self.environment.trace_sample_ratio),
        }


def task_definition(
    scope: Construct,
    ctx: TaskContext,
    service: Service,
    *,
    cpu: int,
    memory_mib: int,
    environment: dict[str, str],
    health_check: ecs.HealthCheck | None,
    port: int | None = None,
    command: list[str] | None = None,
) -> tuple[ecs.FargateTaskDefinition, logs.LogGroup]:
    """The task definition of one image (its container and the trace collector) and its log group;
    ``command`` overrides the image's ``CMD`` (a scheduled task's arguments)."""
    log_group = logs.LogGroup(
        scope,
        "Logs",
        log_group_name=f"/lovia-billing/{ctx.environment.stage}/{service.name}",
        retention=_RETENTION[ctx.environment.log_retention_days],
        removal_policy=RemovalPolicy.RETAIN,
    )
    task = ecs.FargateTaskDefinition(
        scope,
        "Task",
        family=f"lovia-billing-{ctx.environment.stage}-{service.name}",
        cpu=cpu,
        memory_limit_mib=memory_mib,
        runtime_platform=ecs.RuntimePlatform(
            operating_system_family=ecs.OperatingSystemFamily.LINUX,
            cpu_architecture=ecs.CpuArchitecture.X86_64,
        ),
    )
    task.add_container(
        service.name,
        image=ctx.image(service),
        environment={**ctx.common_environment(service), **environment},
        secrets=ctx.secrets.container_secrets(service.name),
        logging=ecs.LogDrivers.aws_logs(stream_prefix=service.name, log_group=log_group),
        health_check=health_check,
        command=command,
        stop_timeout=STOP_TIMEOUT,
        port_mappings=[ecs.PortMapping(container_port=port)] if port else None,
        essential=True,
    )
    add_trace_collector(scope, task, log_group)
    acknowledge(task, "ECS2", PLAIN_ENVIRONMENT)
    return task, log_group


def add_trace_collector(scope: Construct, task: ecs.FargateTaskDefinition, log_group: logs.LogGroup) -> None:
    """The ADOT collector sidecar; not essential, so a collector failure never stops the service."""
    task.add_container(
        "otel-collector",
        image=ecs.ContainerImage.from_registry(COLLECTOR_IMAGE),
        command=[COLLECTOR_CONFIG],
        essential=False,
        memory_reservation_mib=64,
        logging=ecs.LogDrivers.aws_logs(stream_prefix="otel-collector", log_group=log_group),
    )
    policy = iam.Policy(
        scope,
        "TraceWriting",
        statements=[iam.PolicyStatement(actions=list(XRAY_ACTIONS), resources=["*"])],
    )
    policy.attach_to_role(task.task_role)
    acknowledge(policy, "IAM5", XRAY_ANY_RESOURCE, finding="Resource::*")


def fargate_service(
    scope: Construct, ctx: TaskContext, service: Service, task: ecs.FargateTaskDefinition, desired: int
) -> ecs.FargateService:
    return ecs.FargateService(
        scope,
        "Service",
        service_name=f"billing-{service.name}",
        cluster=ctx.cluster,
        task_definition=task,
        desired_count=desired if ctx.desired_count_override is None else ctx.desired_count_override,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        assign_public_ip=False,
        # A task that cannot start rolls the deployment back to the last working task definition.
        circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
        min_healthy_percent=100,
        max_healthy_percent=200,
    )
