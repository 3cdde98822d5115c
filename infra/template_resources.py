"""The resources the package adds to Chalice's SAM template: the service table (from the one
definition in ``chalicelib.store.schema``), the raw-payload bucket, SES feedback (topic and
configuration set), and the wiring of the email functions' events to them."""

from __future__ import annotations

from typing import Any

from chalicelib.store import schema

TABLE_ID = "HelpdeskTable"
BUCKET_ID = "HelpdeskRawBucket"
EMAIL_TOPIC_ID = "HelpdeskSesFeedbackTopic"
EMAIL_CONFIG_SET_ID = "HelpdeskEmailConfigurationSet"


class BuildError(RuntimeError):
    """The package could not be built or did not pass validation."""


def table_resource(table_name: str) -> dict[str, Any]:
    """The service table as CloudFormation, from the one definition in ``schema``."""
    props = schema.table_definition(table_name)
    stream = props.pop("StreamSpecification")  # boto3 shape has StreamEnabled; CloudFormation only the view type
    if not stream.get("StreamEnabled"):
        raise BuildError("schema.table_definition must enable the stream")
    props["StreamSpecification"] = {"StreamViewType": stream["StreamViewType"]}
    props["TimeToLiveSpecification"] = {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True}
    props["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",  # tickets outlive the stack
        "UpdateReplacePolicy": "Retain",
        "Properties": props,
    }


def bucket_resources(bucket_name_sub: str) -> dict[str, Any]:
    """The private, encrypted raw-payload bucket and a policy refusing plain HTTP."""
    bucket = {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketName": {"Fn::Sub": bucket_name_sub},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},  # email_inbound
            # The console posts reply attachments here with a pre-signed POST (README "Attachments"): the
            # signed policy authorises an upload, the origin does not, so any origin may read the answer.
            "CorsConfiguration": {"CorsRules": [{"Id": "console-attachment-upload", "AllowedMethods": ["POST"],
                                                 "AllowedOrigins": ["*"], "AllowedHeaders": ["*"], "MaxAge": 600}]},
            "LifecycleConfiguration": {
                "Rules": [{"Id": "abort-incomplete-uploads", "Status": "Enabled",
                           "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]
            },
        },
    }
    deny_http = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": BUCKET_ID},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [{"Fn::GetAtt": [BUCKET_ID, "Arn"]}, {"Fn::Sub": f"${{{BUCKET_ID}.Arn}}/*"}],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }, {
                    "Sid": "AllowSesInboundMail",  # the SES receipt rule's S3 action (see README "Email")
                    "Effect": "Allow",
                    "Principal": {"Service": "ses.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": {"Fn::Sub": f"${{{BUCKET_ID}.Arn}}/inbound/email/*"},
                    "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                }],
            },
        },
    }
    return {BUCKET_ID: bucket, f"{BUCKET_ID}Policy": deny_http}


def email_resources() -> dict[str, Any]:
    """SES feedback: an SNS topic SES may publish to, and a configuration set sending bounces and complaints there."""
    return {
        EMAIL_TOPIC_ID: {"Type": "AWS::SNS::Topic", "Properties": {}},
        f"{EMAIL_TOPIC_ID}Policy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": EMAIL_TOPIC_ID}],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "AllowSesFeedback", "Effect": "Allow", "Principal": {"Service": "ses.amazonaws.com"},
                    "Action": "sns:Publish", "Resource": {"Ref": EMAIL_TOPIC_ID},
                    "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                }]},
            },
        },
        EMAIL_CONFIG_SET_ID: {"Type": "AWS::SES::ConfigurationSet", "Properties": {}},
        f"{EMAIL_CONFIG_SET_ID}Feedback": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "Properties": {
                "ConfigurationSetName": {"Ref": EMAIL_CONFIG_SET_ID},
                "EventDestination": {"Enabled": True, "MatchingEventTypes": ["bounce", "complaint"],
                                     "SnsDestination": {"TopicARN": {"Ref": EMAIL_TOPIC_ID}}},
            },
        },
    }


def wire_email_events(resources: dict[str, Any], functions: list[str]) -> None:
    """Point the email functions' events at this stack: the feedback topic, and inbound mail of its own bucket."""
    from chalice.utils import to_cfn_resource_name

    inbound, feedback = to_cfn_resource_name("email_inbound"), to_cfn_resource_name("email_feedback")
    if inbound in functions:
        pattern = {"detail": {"bucket": {"name": [{"Ref": BUCKET_ID}]}}}
        resources[inbound]["Properties"]["Events"] = {
            to_cfn_resource_name("email_inbound-event"): {"Properties": {"Pattern": pattern}}}
    if feedback in functions:
        topic = {"Fn::Sub": f"${{{EMAIL_TOPIC_ID}}}"}  # same key as Chalice's Fn::Sub, so the merge replaces it
        resources[feedback]["Properties"]["Events"] = {
            to_cfn_resource_name("email_feedback-sns-subscription"): {"Properties": {"Topic": topic}}}
