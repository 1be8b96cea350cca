"""The ingest: a Fargate service behind the public application load balancer.

The load balancer answers only for this version's host name (``billing-v6-<stage>.lovia.life``);
another API version gets its own host name, rule and target group next to it.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from constructs import Construct

from billing_infra.environments import API_VERSION
from billing_infra.messaging import Messaging
from billing_infra.nag import acknowledge
from billing_infra.services import INGEST, INGEST_HEALTHCHECK, INGEST_PORT
from billing_infra.tasks import TaskContext, fargate_service, task_definition

READINESS_PATH: Final = "/health/ready"
#: Listener rule priority: one rule per API version, so versions never collide.
RULE_PRIORITY: Final = int(API_VERSION.removeprefix("v")) * 10


class IngestService(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ctx: TaskContext,
        messaging: Messaging,
        access_logs: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        environment = ctx.environment
        task, self.log_group = task_definition(
            self,
            ctx,
            INGEST,
            cpu=512,
            memory_mib=1024,
            port=INGEST_PORT,
            environment={
                "HOST": "0.0.0.0",
                "PORT": str(INGEST_PORT),
                # The OpenAPI document's server: the public host name, not the task's address.
                "PUBLIC_BASE_URL": environment.public_base_url,
            },
            health_check=ecs.HealthCheck(
                command=["CMD-SHELL", INGEST_HEALTHCHECK],
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                start_period=Duration.seconds(20),
                retries=3,
            ),
        )
        for queue in messaging.queues.values():
            queue.grant_send_messages(task.task_role)
        messaging.grant_tables(task.task_role, search=True)  # the GraphQL API and the console search
        for dlq in messaging.dlqs.values():  # the console shows each DLQ's depth; it reads no message
            dlq.grant(task.task_role, "sqs:GetQueueAttributes", "sqs:GetQueueUrl")
        self.service = fargate_service(self, ctx, INGEST, task, environment.ingest_min_tasks)
        self.service.node.default_child.health_check_grace_period_seconds = 30  # type: ignore[union-attr]

        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=ctx.cluster.vpc,
            internet_facing=True,
            drop_invalid_header_fields=True,
        )
        self.load_balancer.log_access_logs(access_logs, prefix=f"alb/{environment.stage}")
        acknowledge(
            self.load_balancer,
            "EC23",
            "Public webhook and API endpoint: Xendit calls it from the internet, so ports 80 (redirect "
            "only) and 443 accept any source; the tasks themselves accept traffic only from the ALB.",
        )
        certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=environment.host_name,
            validation=acm.CertificateValidation.from_dns(),  # record added by hand: docs/deploy.md
        )
        https = self.load_balancer.add_listener(
            "Https",
            port=443,
            certificates=[certificate],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            default_action=elbv2.ListenerAction.fixed_response(
                404, content_type="application/json", message_body='{"error": "unknown host"}'
            ),
        )
        self.load_balancer.add_redirect(source_port=80, target_port=443)
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "Targets",
            vpc=ctx.cluster.vpc,
            port=INGEST_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            targets=[self.service],
            deregistration_delay=Duration.seconds(30),
            health_check=elbv2.HealthCheck(
                path=READINESS_PATH,
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        https.add_action(
            f"Host-{API_VERSION}",
            priority=RULE_PRIORITY,
            conditions=[elbv2.ListenerCondition.host_headers([environment.host_name])],
            action=elbv2.ListenerAction.forward([self.target_group]),
        )

        scaling = self.service.auto_scale_task_count(
            min_capacity=environment.ingest_min_tasks, max_capacity=environment.ingest_max_tasks
        )
        scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=60)
        scaling.scale_on_request_count("Requests", requests_per_target=1000, target_group=self.target_group)
