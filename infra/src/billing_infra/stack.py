"""One stack per environment: network, cluster, queues and tables, secrets, registries, services,
the deploy role GitLab CI assumes, alarms and the dashboard."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from billing_infra.app_secrets import AppSecrets
from billing_infra.consumers import ConsumerService
from billing_infra.deploy_role import GitLabDeployRole
from billing_infra.environments import REGION, DeployEnvironment
from billing_infra.images import ImageDigests
from billing_infra.ingest import IngestService
from billing_infra.messaging import Messaging
from billing_infra.nag import acknowledge
from billing_infra.observability import Observability, Watched
from billing_infra.reconcile import ReconcileTask
from billing_infra.registry import Repositories
from billing_infra.services import CONSUMERS
from billing_infra.tasks import TaskContext
from lovia_billing.topology import Topology


class BillingStack(Stack):
    def __init__(
        self,
        scope: Construct,
        environment: DeployEnvironment,
        *,
        first_deploy: bool = False,
    ) -> None:
        super().__init__(
            scope,
            environment.stack_name,
            stack_name=environment.stack_name,
            env=Environment(account=environment.account, region=REGION),
            description=(
                f"Lovia Billing {environment.stage}: ingest, four consumers, daily reconciliation, "
                "queues, tables"
            ),
            termination_protection=environment.is_production,
        )
        self.environment_config = environment
        alarm_topic = self._alarm_topic(environment.stage)
        self.messaging = Messaging(
            self, "Messaging", topology=Topology(environment.stage), alarm_topic=alarm_topic
        )
        repositories = Repositories(self, "Repositories", stage=environment.stage)
        secrets = AppSecrets(self, "Secrets", stage=environment.stage)
        cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=environment.cluster_name,
            vpc=self._vpc(environment),
            container_insights_v2=ecs.ContainerInsights.ENABLED,  # also feeds the backlog-per-task metric
        )
        ctx = TaskContext(
            environment=environment,
            cluster=cluster,
            secrets=secrets,
            repositories=repositories.by_service,
            image_digests=ImageDigests(self, "Images").by_service,
            desired_count_override=0 if first_deploy else None,
        )
        self.ingest = IngestService(
            self, "Ingest", ctx=ctx, messaging=self.messaging, access_logs=self._access_logs_bucket()
        )
        self.consumers = {
            service.name: ConsumerService(
                self, service.name, ctx=ctx, service=service, messaging=self.messaging
            )
            for service in CONSUMERS
        }
        self.reconcile = ReconcileTask(
            self, "Reconcile", ctx=ctx, messaging=self.messaging, alarm_topic=alarm_topic
        )
        self.deploy_role = GitLabDeployRole(self, "GitLabDeploy", environment=environment)
        self.observability = Observability(
            self,
            "Observability",
            watched=Watched(
                stage=environment.stage,
                cluster_name=environment.cluster_name,
                load_balancer=self.ingest.load_balancer,
                target_group=self.ingest.target_group,
                ingest_log_group=self.ingest.log_group,
                services={
                    "ingest": self.ingest.service,
                    **{name: consumer.service for name, consumer in self.consumers.items()},
                },
                messaging=self.messaging,
                other_alarms=tuple(self.reconcile.alarms),
            ),
            alarm_topic=alarm_topic,
        )
        CfnOutput(self, "HostName", value=environment.host_name)
        CfnOutput(self, "LoadBalancerDns", value=self.ingest.load_balancer.load_balancer_dns_name)
        CfnOutput(self, "ClusterName", value=cluster.cluster_name)
        CfnOutput(self, "AlarmTopic", value=alarm_topic.topic_arn)
        CfnOutput(self, "DeployRoleArn", value=self.deploy_role.role.role_arn)
        CfnOutput(self, "Dashboard", value=self.observability.dashboard.dashboard_name)

    def _vpc(self, environment: DeployEnvironment) -> ec2.Vpc:
        vpc = ec2.Vpc(
            self,
            "Vpc",
            availability_zones=list(environment.availability_zones),  # fixed: no look-up at synthesis
            nat_gateways=environment.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                ),
            ],
        )
        vpc.add_flow_log("FlowLog", traffic_type=ec2.FlowLogTrafficType.REJECT)
        return vpc

    def _alarm_topic(self, stage: str) -> sns.Topic:
        key = kms.Key(
            self,
            "AlarmKey",
            description=f"Lovia Billing {stage}: encrypts the alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # CloudWatch alarms publish to an encrypted topic only if they may use its key.
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        return sns.Topic(
            self,
            "Alarms",
            topic_name=f"lovia-billing-{stage}-alarms",
            master_key=key,
            enforce_ssl=True,
        )

    def _access_logs_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # the only encryption ALB log delivery supports
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            bucket,
            "S1",
            "This bucket receives the load balancer's access logs; logging access to the log bucket "
            "itself would need yet another bucket, and the logs are write-only for the ELB service.",
        )
        return bucket
