"""What tells an operator the stack is unwell: an on-failure queue (DLQ) for every asynchronous
function, log groups with retention, an SNS alarm topic and the CloudWatch alarms on it.

Alarms (all to ``AlarmTopic``, which mails ``AlarmEmail`` when given):

- ``SweepErrorsAlarm``: the sweep function raised (Lambda ``Errors`` >= 1 in a minute).
- ``SweepHeartbeatAlarm``: no ``SweepRuns`` metric for 3 minutes (the schedule stopped, the function
  cannot start, or it times out before finishing) — missing data counts as breaching.
- ``OutboxFailedAlarm``: a notification failed for good (``NotificationsFailed`` > 0).
- ``DeadLetterQueueAlarm``: an asynchronous invocation ended up in the DLQ after its retries.
- ``Api5xxRateAlarm``: more than 5 % of API requests answered 5xx over 5 minutes, twice in a row.
"""

from __future__ import annotations

from typing import Any

DLQ_ID = "AsyncFailureQueue"
TOPIC_ID = "AlarmTopic"
NAMESPACE = "Helpdesk"
SERVICE_SUB = "helpdesk-${Stage}"
ASYNC_RETRIES = 2


def _alarm(description: str, metric: dict[str, Any], threshold: float, operator: str, *, period: int = 60,
           evaluation: int = 1, missing: str = "notBreaching") -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": {"Fn::Sub": "helpdesk-${Stage}-" + metric.pop("name")},
            "AlarmDescription": description,
            "Namespace": metric["namespace"],
            "MetricName": metric["metric"],
            "Dimensions": metric["dimensions"],
            "Statistic": metric["statistic"],
            "Period": period,
            "EvaluationPeriods": evaluation,
            "DatapointsToAlarm": evaluation,
            "Threshold": threshold,
            "ComparisonOperator": operator,
            "TreatMissingData": missing,
            "AlarmActions": [{"Ref": TOPIC_ID}],
            "OKActions": [{"Ref": TOPIC_ID}],
        },
    }


def alarm_resources(sweep_function: str | None, api_name: Any) -> dict[str, Any]:
    """The alarm topic (with the optional e-mail subscription) and the alarms."""
    service = [{"Name": "service", "Value": {"Fn::Sub": SERVICE_SUB}}]
    out: dict[str, Any] = {
        TOPIC_ID: {"Type": "AWS::SNS::Topic",
                   "Properties": {"TopicName": {"Fn::Sub": "helpdesk-${Stage}-alarms"},
                                  "KmsMasterKeyId": "alias/aws/sns"}},
        "AlarmEmailSubscription": {"Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail",
                                   "Properties": {"TopicArn": {"Ref": TOPIC_ID}, "Protocol": "email",
                                                  "Endpoint": {"Ref": "AlarmEmail"}}},
        "SweepHeartbeatAlarm": _alarm(
            "The every-minute sweep has not completed for 3 minutes: SLA breaches and warnings are not firing.",
            {"name": "sweep-heartbeat", "namespace": NAMESPACE, "metric": "SweepRuns", "dimensions": service,
             "statistic": "Sum"}, 1, "LessThanThreshold", evaluation=3, missing="breaching"),
        "OutboxFailedAlarm": _alarm(
            "A notification failed for good: see `helpdesk outbox list --state failed` and redrive it.",
            {"name": "outbox-failed", "namespace": NAMESPACE, "metric": "NotificationsFailed",
             "dimensions": service, "statistic": "Sum"}, 0, "GreaterThanThreshold", period=300),
        "DeadLetterQueueAlarm": _alarm(
            "An asynchronous invocation failed after its retries and is in the DLQ: `helpdesk dlq list`.",
            {"name": "dlq-not-empty", "namespace": "AWS/SQS", "metric": "ApproximateNumberOfMessagesVisible",
             "dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [DLQ_ID, "QueueName"]}}],
             "statistic": "Maximum"}, 0, "GreaterThanThreshold", period=300),
        "Api5xxRateAlarm": _alarm(
            "More than 5% of API requests answered 5xx in two consecutive 5-minute periods.",
            {"name": "api-5xx-rate", "namespace": "AWS/ApiGateway", "metric": "5XXError",
             "dimensions": [{"Name": "ApiName", "Value": api_name}, {"Name": "Stage", "Value": "api"}],
             "statistic": "Average"}, 0.05, "GreaterThanThreshold", period=300, evaluation=2),
    }
    if sweep_function:
        out["SweepErrorsAlarm"] = _alarm(
            "The sweep function failed: SLA breaches and warnings may not fire.",
            {"name": "sweep-errors", "namespace": "AWS/Lambda", "metric": "Errors",
             "dimensions": [{"Name": "FunctionName", "Value": {"Ref": sweep_function}}], "statistic": "Sum"},
            1, "GreaterThanOrEqualToThreshold")
    return out


def dlq_resources() -> dict[str, Any]:
    """The queue every asynchronous function's failed invocations go to (kept 14 days, encrypted)."""
    return {DLQ_ID: {"Type": "AWS::SQS::Queue",
                     "Properties": {"QueueName": {"Fn::Sub": "helpdesk-${Stage}-async-failures"},
                                    "MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True}}}


def function_ops(function_id: str, *, is_async: bool, own_memory: bool = False) -> dict[str, Any]:
    """Properties merged into one function: its log group (retention), tracing, its memory (the
    ``ApiMemorySize`` / ``JobMemorySize`` Parameter, unless ``.chalice/config.json`` sizes this job itself:
    then Chalice's value stays), and for an asynchronous one the on-failure destination (the DLQ receives
    the event, the error and the function's ARN)."""
    props: dict[str, Any] = {
        "LoggingConfig": {"LogGroup": {"Ref": f"{function_id}LogGroup"}},
        "Tracing": {"Ref": "Tracing"},
    }
    if not is_async or not own_memory:
        props["MemorySize"] = {"Ref": "JobMemorySize" if is_async else "ApiMemorySize"}
    if is_async:
        props["EventInvokeConfig"] = {"MaximumRetryAttempts": ASYNC_RETRIES,
                                      "DestinationConfig": {"OnFailure": {
                                          "Type": "SQS", "Destination": {"Fn::GetAtt": [DLQ_ID, "Arn"]}}}}
    return props


def log_group(function_id: str, short_name: str) -> dict[str, Any]:
    """The function's log group, created before it (so retention applies from the first line)."""
    return {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Retain",
            "Properties": {"LogGroupName": {"Fn::Sub": f"/aws/lambda/helpdesk-${{Stage}}-{short_name}"},
                           "RetentionInDays": {"Ref": "LogRetentionDays"}}}


def role_statements(secret_arns: list[Any]) -> list[dict[str, Any]]:
    """Statements added to every function role: send to the DLQ, read the stage's secrets, X-Ray."""
    return [
        {"Sid": "AsyncFailureDestination", "Effect": "Allow", "Action": ["sqs:SendMessage"],
         "Resource": [{"Fn::GetAtt": [DLQ_ID, "Arn"]}]},
        {"Sid": "StageSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": secret_arns},
        {"Sid": "Tracing", "Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
         "Resource": "*"},
    ]
