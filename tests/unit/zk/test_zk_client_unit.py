"""Pure parts of the kazoo bridge: chroot parsing, exception translation, multi culprits."""
from __future__ import annotations

import pytest
from kazoo import exceptions as kz

from kafkapy.zk import errors
from kafkapy.zk.client import CheckOp, CreateOp, SetDataOp, _multi_results, split_chroot, translate


def test_split_chroot() -> None:
    assert split_chroot("h1:2181,h2:2181/kafka/a") == ("h1:2181,h2:2181", "/kafka/a")
    assert split_chroot("h:2181") == ("h:2181", None)
    assert split_chroot("h:2181/") == ("h:2181", None)
    assert split_chroot("h:2181/k/") == ("h:2181", "/k")


@pytest.mark.parametrize("kazoo_exc, ours", [
    (kz.NodeExistsError(), errors.NodeExistsError),
    (kz.NoNodeError(), errors.NoNodeError),
    (kz.BadVersionError(), errors.BadVersionError),
    (kz.NotEmptyError(), errors.NotEmptyError),
    (kz.SessionExpiredError(), errors.SessionExpiredError),
    (kz.ConnectionClosedError(), errors.ZkClientClosedError),   # a SessionExpiredError subclass
    (kz.ConnectionLoss(), errors.ConnectionLossError),
    (kz.NoAuthError(), errors.ZkAuthError),
    (kz.MarshallingError(), errors.ZkError),
])
def test_translate(kazoo_exc: Exception, ours: type) -> None:
    got = translate(kazoo_exc, "/p")
    assert type(got) is ours and got.path == "/p" and got.__cause__ is kazoo_exc
    assert "/p" in str(got)


def test_translate_leaves_other_exceptions() -> None:
    exc = ValueError("x")
    assert translate(exc) is exc


def test_multi_culprit_is_the_failing_op_not_the_rollbacks() -> None:
    ops = [CheckOp("/e", 1), CreateOp("/x"), SetDataOp("/y", b"")]
    with pytest.raises(errors.BadVersionError) as info:
        _multi_results(ops, [kz.RolledBackError(), kz.RolledBackError(), kz.BadVersionError()])
    assert info.value.op_index == 2 and info.value.path == "/y" and info.value.op == ops[2]
    with pytest.raises(errors.NoNodeError) as info:
        _multi_results(ops, [kz.NoNodeError(), kz.RuntimeInconsistency(), kz.RuntimeInconsistency()])
    assert info.value.op_index == 0
    assert _multi_results(ops[:2], [True, "/x"]) == [True, "/x"]


def test_retriable_flags() -> None:
    assert errors.ConnectionLossError.retriable and errors.SessionExpiredError.retriable
    assert not errors.NodeExistsError.retriable
