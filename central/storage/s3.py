"""S3-compatible object storage for upload parts and sealed packets (boto3).

Works with any S3 API: AWS S3, MinIO, Ceph RGW, SeaweedFS. Credentials come from
boto3's standard chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_SHARED_CREDENTIALS_FILE``, an instance role), never from the URL.

Location URL: ``s3://BUCKET[/PREFIX]?endpoint=https://host:port&region=R&path_style=1``.
boto3 is synchronous; every call runs in a worker thread. A PUT that returned
is durable (S3 semantics); timeouts are short so a dead store is noticed within
seconds and the receiver answers UNAVAILABLE instead of hanging.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from central.storage.base import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

logger = logging.getLogger(__name__)

_MISSING = {"NoSuchKey", "404", "NotFound"}


class ObjectMissing(Exception):
    """An object the index names is not in the store (e.g. freed by a racing commit)."""


@dataclass(frozen=True)
class ObjectLocation:
    bucket: str
    prefix: str
    endpoint: str | None
    region: str
    path_style: bool

    @classmethod
    def parse(cls, url: str) -> ObjectLocation:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError("object store must be s3://BUCKET[/PREFIX]?endpoint=URL")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint", "region", "path_style"}
        if unknown:
            raise ValueError(f"unknown object store option(s): {', '.join(sorted(unknown))}")
        prefix = parts.path.strip("/")
        return cls(
            bucket=parts.netloc,
            prefix=f"{prefix}/" if prefix else "",
            endpoint=query.get("endpoint"),
            region=query.get("region", "us-east-1"),
            path_style=query.get("path_style", "1" if query.get("endpoint") else "0") == "1",
        )

    def describe(self) -> str:
        where = self.endpoint or "AWS"
        return f"s3://{self.bucket}/{self.prefix} at {where}"


class ObjectStore:
    def __init__(self, location: ObjectLocation) -> None:
        self.location = location
        config = Config(
            region_name=location.region,
            connect_timeout=2,
            read_timeout=15,
            retries={"max_attempts": 2, "mode": "standard"},
            max_pool_connections=64,
            s3={"addressing_style": "path" if location.path_style else "auto"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._client: S3Client = boto3.client("s3", endpoint_url=location.endpoint, config=config)

    def key(self, name: str) -> str:
        return f"{self.location.prefix}{name}"

    async def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise ObjectMissing(code) from exc
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if status >= 500 or code in {"SlowDown", "ServiceUnavailable", "RequestTimeout"}:
                raise StorageUnavailable("object store", code or str(status)) from exc
            raise
        except BotoCoreError as exc:
            raise StorageUnavailable("object store", type(exc).__name__) from exc

    async def ensure_bucket(self) -> None:
        try:
            await self._call(self._client.head_bucket, Bucket=self.location.bucket)
        except (ObjectMissing, ClientError):
            await self._call(self._client.create_bucket, Bucket=self.location.bucket)

    async def put_bytes(self, key: str, data: bytes) -> None:
        """PUT with Content-MD5, which every S3 implementation verifies (integrity only)."""
        digest = hashlib.md5(data, usedforsecurity=False).digest()
        await self._call(
            self._client.put_object,
            Bucket=self.location.bucket,
            Key=key,
            Body=data,
            ContentMD5=base64.b64encode(digest).decode(),
        )

    async def put_file(self, key: str, path: Path) -> None:
        """Upload a file (multipart above 64 MiB, boto3's transfer manager)."""
        from boto3.s3.transfer import TransferConfig

        transfer = TransferConfig(multipart_threshold=64 << 20, multipart_chunksize=16 << 20)
        await self._call(
            self._client.upload_file, str(path), self.location.bucket, key, Config=transfer
        )

    async def copy(self, source: str, key: str) -> None:
        """Server-side copy within the bucket (no bytes through this process)."""
        await self._call(
            self._client.copy_object,
            Bucket=self.location.bucket,
            Key=key,
            CopySource={"Bucket": self.location.bucket, "Key": source},
        )

    async def get_bytes(self, key: str, *, max_bytes: int) -> bytes:
        """GET and read in one worker call, so no connection waits on an unread body."""
        data: bytes = await self._call(self._get_sync, key, max_bytes)
        return data

    def _get_sync(self, key: str, max_bytes: int) -> bytes:
        response = self._client.get_object(Bucket=self.location.bucket, Key=key)
        body = response["Body"]
        try:
            if int(response.get("ContentLength", 0)) > max_bytes:
                raise ValueError(f"object {key} is larger than expected")
            data: bytes = body.read(max_bytes + 1)
        finally:
            body.close()
        if len(data) > max_bytes:
            raise ValueError(f"object {key} is larger than expected")
        return data

    async def size_of(self, key: str) -> int:
        response = await self._call(self._client.head_object, Bucket=self.location.bucket, Key=key)
        return int(response["ContentLength"])

    async def delete(self, keys: list[str]) -> None:
        """Best effort: a key left behind is garbage, never data (see docs/central-runbook.md)."""
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            try:
                await self._call(
                    self._client.delete_objects,
                    Bucket=self.location.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
            except (StorageUnavailable, ClientError) as exc:
                logger.warning("could not delete %d object(s): %s", len(batch), exc)

    async def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.location.bucket, "Prefix": self.key(prefix)}
            if token:
                kwargs["ContinuationToken"] = token
            response = await self._call(self._client.list_objects_v2, **kwargs)
            keys += [item["Key"] for item in response.get("Contents", [])]
            if not response.get("IsTruncated"):
                return keys
            token = response.get("NextContinuationToken")

    async def ping(self) -> bool:
        try:
            await self._call(self._client.head_bucket, Bucket=self.location.bucket)
        except (StorageUnavailable, ObjectMissing, ClientError):
            return False
        return True
