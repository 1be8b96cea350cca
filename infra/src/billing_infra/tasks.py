"""What every Fargate service of the stack shares: image, logs, secrets, roles, safe deployments."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
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


@dataclass(frozen=True)
class TaskContext:
    """The stack-wide pieces a service's task definition is built from."""

    environment: DeployEnvironment
    cluster: ecs.Cluster
    secrets: AppSecrets
    repositories: dict[str, ecr.Repository]
    image_tag: str
    desired_count_override: int | None  # 0 on the first deploy, before secrets and images exist

    def image(self, service: Service) -> ecs.ContainerImage:
        if self.environment.image_source == "ecr":
            return ecs.ContainerImage.from_ecr_repository(self.repositories[service.name], self.image_tag)
        # repositoryCredentials: the execution role may read this one secret to pull the image.
        return ecs.ContainerImage.from_registry(
            f"{GITLAB_REGISTRY_IMAGE}/{service.name}:{self.image_tag}",
            credentials=self.secrets.registry_credentials,
        )

    def common_environment(self) -> dict[str, str]:
        return {
            "BILLING_STAGE": self.environment.stage,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "LOG_LEVEL": "INFO",
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
) -> ecs.FargateTaskDefinition:
    """The task definition of one image: its log group, its secrets, and (services) its health check;
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
        environment={**ctx.common_environment(), **environment},
        secrets=ctx.secrets.container_secrets(service.name),
        logging=ecs.LogDrivers.aws_logs(stream_prefix=service.name, log_group=log_group),
        health_check=health_check,
        command=command,
        stop_timeout=STOP_TIMEOUT,
        port_mappings=[ecs.PortMapping(container_port=port)] if port else None,
    )
    acknowledge(task, "ECS2", PLAIN_ENVIRONMENT)
    return task


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
