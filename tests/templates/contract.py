"""The design contract's stack table and outputs, written out as data for the tests."""

from __future__ import annotations

# key -> (suffix, template, region, depends_on, optional)
STACKS = {
    "vpc": ("VPC", "vpc.yaml", "primary", (), False),
    "storage": ("Storage", "storage.yaml", "primary", (), False),
    "database": ("Database", "database.yaml", "primary", ("vpc",), False),
    "secondary_vpc": ("SecondaryVPC", "vpc.yaml", "secondary", (), True),
    "replica": ("Replica", "replica.yaml", "secondary", ("database", "secondary_vpc"), True),
    "web": ("Web", "web.yaml", "primary", ("vpc", "database", "storage"), False),
    "dms": ("Dms", "dms.yaml", "secondary", ("secondary_vpc", "database", "replica"), True),
}

# key -> {parameter: fact about the stack's region the create Lambda reads (region_parameters)}
REGION_PARAMETERS = {
    key: {"AvailabilityZoneCount": "availability_zone_count"} for key in ("vpc", "secondary_vpc")
}

_VPC_OUTPUTS = {
    "VpcId",
    "PublicSubnetIds",
    "PrivateSubnetIds",
    "AvailabilityZones",
    "LoadBalancerSecurityGroupId",
    "WebSecurityGroupId",
    "DatabaseSecurityGroupId",
    "CheckSecurityGroupId",
}
OUTPUTS = {
    "vpc": _VPC_OUTPUTS,
    "secondary_vpc": _VPC_OUTPUTS,
    "storage": {"WebsiteBucketName", "ReportBucketName", "ReportBucketArn"},
    "database": {
        "DBInstanceIdentifier",
        "DBInstanceArn",
        "EndpointAddress",
        "EndpointPort",
        "MasterUserSecretArn",
        "Engine",
        "DatabaseName",
        "KmsKeyArn",
        "DmsSourceSecretArn",
        "DmsSourceSecretPrimaryArn",
    },
    "replica": {"ReplicaInstanceIdentifier", "ReplicaEndpointAddress", "ReplicaKmsKeyArn"},
    "web": {
        "WebsiteURL",
        "LoadBalancerDNSName",
        "AutoScalingGroupName",
        "TargetGroupArn",
        "WebAppMode",
    },
    "dms": {
        "TargetInstanceIdentifier",
        "TargetEndpointAddress",
        "TargetEndpointPort",
        "TargetMasterSecretArn",
        "TargetUserSecretArn",
        "ReplicationInstanceArn",
        "ReplicationTaskArn",
        "SourceEndpointArn",
        "TargetEndpointArn",
        "DmsKmsKeyArn",
        "TargetPreparationFunctionArn",
    },
}

EVENT_KEYS = {
    "log_level",
    "region_name",
    "secondary_region_name",
    "workshop",
    "cfn_region",
    "cfn_bucket",
    "folder",
    "boot_bucket",
    "boot_prefix",
    "boot_object",
    "websiteimage",
    "stack_prefix",
    "engine",
    "webapp_mode",
    "poll_seconds",
    "skip_backup_check",
    "dms",
}

# The seed's example event (builders guide), with the optional keys it leaves empty.
SAMPLE_EVENT = {
    "log_level": "DEBUG",
    "region_name": "us-west-2",
    "secondary_region_name": "us-east-2",
    "workshop": "300 - Testing for Resiliency",
    "cfn_region": "us-east-2",
    "cfn_bucket": "aws-well-architected-labs-ohio",
    "folder": "Reliability/",
    "boot_bucket": "aws-well-architected-labs-ohio",
    "boot_prefix": "Reliability/",
    "boot_object": "",
    "websiteimage": "",
}

# Resource types the templates use, and how each carries tags. None = not taggable.
TAG_STYLE = {
    "AWS::EC2::VPC": "Tags",
    "AWS::EC2::InternetGateway": "Tags",
    "AWS::EC2::VPCGatewayAttachment": None,
    "AWS::EC2::Subnet": "Tags",
    "AWS::EC2::RouteTable": "Tags",
    "AWS::EC2::Route": None,
    "AWS::EC2::SubnetRouteTableAssociation": None,
    "AWS::EC2::EIP": "Tags",
    "AWS::EC2::NatGateway": "Tags",
    "AWS::EC2::SecurityGroup": "Tags",
    "AWS::EC2::SecurityGroupIngress": None,
    "AWS::EC2::SecurityGroupEgress": None,
    "AWS::EC2::LaunchTemplate": "TagSpecifications",
    "AWS::S3::Bucket": "Tags",
    "AWS::S3::BucketPolicy": None,
    "AWS::KMS::Key": "Tags",
    "AWS::KMS::Alias": None,
    "AWS::RDS::DBSubnetGroup": "Tags",
    "AWS::RDS::DBParameterGroup": "Tags",
    "AWS::RDS::DBInstance": "Tags",
    "AWS::IAM::Role": "Tags",
    "AWS::IAM::InstanceProfile": None,
    "AWS::AutoScaling::AutoScalingGroup": "Tags",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "Tags",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "Tags",
    "AWS::ElasticLoadBalancingV2::Listener": "Tags",
    "AWS::SecretsManager::Secret": "Tags",
    "AWS::SecretsManager::SecretTargetAttachment": None,
    "AWS::DMS::ReplicationSubnetGroup": "Tags",
    "AWS::DMS::ReplicationInstance": "Tags",
    "AWS::DMS::Endpoint": "Tags",
    "AWS::DMS::ReplicationTask": "Tags",
    "AWS::Lambda::Function": "Tags",
    "AWS::Logs::LogGroup": "Tags",
}
