"""The local stand-in's patch to moto, tested directly (infra/moto_standin.py).

Over HTTP against ``StandInServer`` (what ``make run`` starts): concurrent
transactions and writes from many threads, all committed, none lost, no 500;
and in-process: a cancelled transaction restores exactly its own keys, keeps
everybody else's items (the very objects, not copies) and never copies the table.
"""

from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra import moto_standin
from infra.moto_standin import StandInServer, key_level_rollback

TABLE = "standin"
REGION = "ap-northeast-1"
WORKERS, PER_WORKER = 12, 12


def _create(client) -> None:
    client.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"},
                              {"AttributeName": "g", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "ByG", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                                 {"AttributeName": "sk", "KeyType": "RANGE"}],
                                 "Projection": {"ProjectionType": "ALL"}}],
    )


def _item(pk: str, sk: str = "A", **extra: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}, "g": {"S": "all"}, **{k: {"S": v} for k, v in extra.items()}}


def _cancelled_transaction(client, new_pk: str, existing_pk: str) -> None:
    """Put a new item, update an existing one, then fail a condition: the whole transaction is cancelled."""
    with pytest.raises(ClientError) as err:
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": TABLE, "Item": _item(new_pk)}},
            {"Update": {"TableName": TABLE, "Key": {"pk": {"S": existing_pk}, "sk": {"S": "A"}},
                        "UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"S": "changed"}}}},
            {"ConditionCheck": {"TableName": TABLE, "Key": {"pk": {"S": "missing"}, "sk": {"S": "A"}},
                                "ConditionExpression": "attribute_exists(pk)"}},
        ])
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"


def test_the_patch_is_for_the_pinned_moto():
    import moto

    assert moto.__version__ == moto_standin.PINNED_MOTO
    requirements = (moto_standin.__file__.rsplit("/infra/", 1)[0] + "/requirements-dev.txt")
    assert f"moto[server]=={moto_standin.PINNED_MOTO}" in open(requirements, encoding="utf-8").read()


def test_cancelled_transaction_restores_its_own_keys_only_and_never_copies_the_table(monkeypatch):
    with mock_aws(), key_level_rollback():
        from moto.dynamodb.models.table import Table

        client = boto3.client("dynamodb", region_name=REGION)
        _create(client)
        for i in range(300):
            client.put_item(TableName=TABLE, Item=_item(f"t{i}", v="original"))
        from moto.backends import get_backend

        backend = get_backend("dynamodb")["123456789012"][REGION]
        table = backend.tables[TABLE]
        before = {key: dict(bucket) for key, bucket in table.items.items()}

        table_copies = []
        real_deepcopy = copy.deepcopy

        def spy(obj, memo=None):
            if isinstance(obj, Table):
                table_copies.append(obj)
            return real_deepcopy(obj, memo)

        monkeypatch.setattr(copy, "deepcopy", spy)
        for _ in range(50):
            _cancelled_transaction(client, "new", "t7")

        assert table_copies == [], "a rollback must not copy the table"
        assert backend.tables[TABLE] is table, "the table object is kept, not swapped for a snapshot"
        got = client.get_item(TableName=TABLE, Key={"pk": {"S": "t7"}, "sk": {"S": "A"}})["Item"]
        assert got["v"] == {"S": "original"}
        assert "Item" not in client.get_item(TableName=TABLE, Key={"pk": {"S": "new"}, "sk": {"S": "A"}})
        untouched = [key for key in before if key.value != "t7"]
        assert all(table.items[key]["A"] is before[key]["A"] for key in untouched if "A" in before[key]), \
            "items outside the transaction are the very same objects (nothing rewritten)"
        assert client.scan(TableName=TABLE, Select="COUNT")["Count"] == 300

        # A committed transaction still commits everything.
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": TABLE, "Item": _item("new")}},
            {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "t8"}, "sk": {"S": "A"}}}},
        ])
        assert client.scan(TableName=TABLE, Select="COUNT")["Count"] == 300
        assert "Item" not in client.get_item(TableName=TABLE, Key={"pk": {"S": "t8"}, "sk": {"S": "A"}})


def test_rollback_keeps_a_write_made_while_the_transaction_ran():
    """The original rollback put back a table copy taken *before* the transaction, erasing any
    write committed meanwhile; key-level undo restores only the transaction's own keys."""
    with mock_aws(), key_level_rollback():
        from moto.backends import get_backend
        from moto.dynamodb.models import DynamoDBBackend

        client = boto3.client("dynamodb", region_name=REGION)
        _create(client)
        client.put_item(TableName=TABLE, Item=_item("existing", v="original"))
        backend = get_backend("dynamodb")["123456789012"][REGION]
        real_update = DynamoDBBackend.update_item

        def update_then_someone_else_writes(self, *args, **kwargs):
            result = real_update(self, *args, **kwargs)
            backend.put_item(TABLE, _item("bystander", v="committed"))  # another request's write
            return result

        DynamoDBBackend.update_item = update_then_someone_else_writes
        try:
            _cancelled_transaction(client, "new", "existing")
        finally:
            DynamoDBBackend.update_item = real_update
        assert client.get_item(TableName=TABLE, Key={"pk": {"S": "bystander"}, "sk": {"S": "A"}})["Item"]["v"] \
            == {"S": "committed"}
        assert client.get_item(TableName=TABLE, Key={"pk": {"S": "existing"}, "sk": {"S": "A"}})["Item"]["v"] \
            == {"S": "original"}


def test_concurrent_clients_over_http_lose_nothing():
    server = StandInServer("127.0.0.1", 0)
    server.start()
    try:
        client = boto3.client("dynamodb", region_name=REGION, endpoint_url=server.url,
                              aws_access_key_id="x", aws_secret_access_key="x",
                              config=botocore.config.Config(max_pool_connections=32,
                                                            retries={"max_attempts": 1}))
        _create(client)
        for i in range(50):
            client.put_item(TableName=TABLE, Item=_item(f"seed{i}"))
        errors: list[str] = []
        committed = []
        lock = threading.Lock()

        def worker(n: int) -> None:
            for i in range(PER_WORKER):
                try:
                    pk = f"w{n}-{i}"
                    client.transact_write_items(TransactItems=[
                        {"Put": {"TableName": TABLE, "Item": _item(pk),
                                 "ConditionExpression": "attribute_not_exists(pk)"}},
                        {"Put": {"TableName": TABLE, "Item": _item(pk, "B")}},
                    ])
                    with lock:
                        committed.append(pk)
                    if i % 3 == 0:  # a cancelled one in the mix
                        try:
                            client.transact_write_items(TransactItems=[
                                {"Put": {"TableName": TABLE, "Item": _item(f"x{n}-{i}")}},
                                {"Put": {"TableName": TABLE, "Item": _item(pk),
                                         "ConditionExpression": "attribute_not_exists(pk)"}},
                            ])
                            errors.append("a failing condition committed")
                        except ClientError as exc:
                            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                                raise
                    client.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": "B"}})
                    if i % 4 == 0:
                        client.query(TableName=TABLE, IndexName="ByG", KeyConditionExpression="g = :g",
                                     ExpressionAttributeValues={":g": {"S": "all"}}, Limit=20)
                except Exception as exc:  # noqa: BLE001 (collect every failure)
                    errors.append(repr(exc))

        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(worker, range(WORKERS)))
        assert errors == []
        count = 0
        kwargs: dict = {"TableName": TABLE, "Select": "COUNT"}
        while True:
            page = client.scan(**kwargs)
            count += page["Count"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        assert len(committed) == WORKERS * PER_WORKER
        assert count == 50 + 2 * len(committed), "every committed write is stored, no cancelled one is"
    finally:
        server.stop()
