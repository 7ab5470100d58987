"""The whole loop on the real engine, registry and store: a model deteriorates as its
reference data drifts, each rule kind flags it (once per cooldown), an admin asks the
experts to fine-tune with new data (a signed webhook that fails twice and an e-mail over
STARTTLS with a login tell them), and a new version naming the request resolves it with
the before/after comparison attached."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlrun_kernel.datasets import Datasets, NotFound, Principal
from mlrun_kernel.evaluations import EvaluationInfo, Evaluations, EvaluationSettings, verify
from mlrun_kernel.evaluations.notify import list_deliveries
from mlrun_kernel.runs import Executor
from mlrun_kernel.store import Store
from tests.evaluations.conftest import MODEL, SmtpServer, WebhookReceiver, sync_into
from tests.service.helpers import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.registry]

ADMIN = Principal(name="ada", groups=frozenset({"model-admins"}), is_admin=True)
EXPERT = Principal(name="eve", groups=frozenset({"model-experts"}))


def evaluate(evaluations: Evaluations, executor: Executor, ref: str = "latest") -> EvaluationInfo:
    started = evaluations.evaluate("ada", MODEL, ref=ref)
    assert started.run_id and started.state == "running"
    run = executor.wait(started.run_id, timeout=180)
    assert run.state == "succeeded", (run.reason, run.failure_text)
    evaluations.tick()
    done = evaluations.get(started.id)
    assert done.state == "succeeded", done.reason
    return done


def repin(evaluations: Evaluations, version: int) -> None:
    evaluations.put_setup(ADMIN, MODEL, dataset="ada/labelled", dataset_version=version)


def test_a_drifting_model_is_flagged_asked_to_fine_tune_and_resolved_by_a_new_version(
    eval_store: Store,
    run_executor: Executor,
    tmp_path: Path,
    registry_url: str,
    reference_data: Callable[[int], Path],
    build_drifting: Callable[..., object],
    webhook_receiver: WebhookReceiver,
    smtp_server: SmtpServer,
) -> None:
    datasets = Datasets(eval_store, tmp_path / "data")
    settings = EvaluationSettings(
        eval_webhook_backoff_seconds=0.05,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_ca_file=smtp_server.ca_file,
        smtp_user=smtp_server.user,
        smtp_password=smtp_server.password,
        eval_mail_to="experts@example.org",
    )
    evaluations = Evaluations(eval_store, datasets, submit=run_executor.submit, settings=settings)
    for drift in range(4):  # versions 1..4 of the labelled data: the truth moves away from 0.5
        datasets.upload_file("ada", "labelled", reference_data(drift))
    repin(evaluations, 1)

    # The first evaluation is the pinned baseline; every rule kind watches from here.
    baseline = evaluate(evaluations, run_executor)
    assert baseline.metrics["accuracy"] == pytest.approx(1.0)
    assert baseline.dataset == "ada/labelled:1" and baseline.trigger == "manual"
    threshold = evaluations.add_rule("ada", MODEL, metric="accuracy", kind="threshold", threshold=0.75)
    pinned = evaluations.add_rule(
        "ada", MODEL, metric="accuracy", kind="drop", drop=0.15, baseline="pinned",
        baseline_evaluation_id=baseline.id,
    )  # fmt: skip
    median = evaluations.add_rule(
        "ada", MODEL, metric="accuracy", kind="drop", drop=0.08, baseline="median", window=2
    )
    consecutive = evaluations.add_rule(
        "ada", MODEL, metric="error_rate", kind="threshold", threshold=0.15, min_consecutive=2
    )

    def flagged_rules() -> set[int]:
        return {f.rule_id for f in evaluations.flags(MODEL)}

    repin(evaluations, 2)  # accuracy 0.9: 8 % below the median of the last evaluations (1.0)
    evaluate(evaluations, run_executor)
    assert flagged_rules() == {median.id}
    repin(evaluations, 3)  # 0.8: more than 15 % below the pinned baseline; error 0.2, once
    evaluate(evaluations, run_executor)
    assert flagged_rules() == {median.id, pinned.id}
    repin(evaluations, 4)  # 0.7: below the threshold; error above 0.15 twice in a row
    worst = evaluate(evaluations, run_executor)
    assert flagged_rules() == {median.id, pinned.id, threshold.id, consecutive.id}
    flag = next(f for f in evaluations.flags(MODEL) if f.rule_id == threshold.id)
    assert flag.value == pytest.approx(0.7) and flag.limit == 0.75 and flag.digest == worst.digest
    assert "below the threshold 0.75" in flag.message and flag.evaluation_ids == [worst.id]

    # A later evaluation that passes clears the flags; a new break inside the cooldown
    # reopens the same flag and raises no second alert.
    repin(evaluations, 1)
    evaluate(evaluations, run_executor)
    assert flagged_rules() == set()
    repin(evaluations, 4)
    evaluate(evaluations, run_executor)
    assert threshold.id in flagged_rules()
    every_flag = evaluations.flags(MODEL, open_only=False)
    assert len([f for f in every_flag if f.rule_id == threshold.id]) == 1
    assert evaluations.notifier.wait(30)
    raised = [d for d in list_deliveries(eval_store) if d.event == "flag.raised" and d.ok]
    assert len(raised) == 4, "one alert per rule, none for the break inside the cooldown"

    # The admin asks the experts to fine-tune, with new data; they are told, signed.
    evaluations.add_webhook("ada", webhook_receiver.url, secret="webhook-secret-for-tests")
    webhook_receiver.fail_first = len(webhook_receiver.answers) + 2
    new_data = datasets.upload_file("ada", "drifted-rows", reference_data(3))
    with pytest.raises(NotFound):
        datasets.get(EXPERT, "ada/drifted-rows")  # private until the request shares it
    flag = next(f for f in evaluations.flags(MODEL) if f.rule_id == threshold.id)
    request = evaluations.create_request(
        ADMIN, MODEL, reason="accuracy fell below 0.75 on the newest labelled data",
        flag_id=flag.id, attach=["ada/drifted-rows"],
    )  # fmt: skip
    assert request.state == "open" and request.experts_group == "model-experts"
    assert request.datasets == [f"ada/drifted-rows:{new_data.version}"]
    assert request.evidence["flag"]["id"] == flag.id
    assert [e["id"] for e in request.evidence["evaluations"]] == flag.evaluation_ids
    assert datasets.get(EXPERT, "ada/drifted-rows").group == "model-experts", "shared with the experts"
    assert [r.id for r in evaluations.requests(EXPERT, state="active")] == [request.id]
    wait_for(lambda: webhook_receiver.delivered("request.opened"), timeout=30)
    delivery = webhook_receiver.delivered("request.opened")[0]
    assert verify("webhook-secret-for-tests", delivery["raw"], delivery["headers"]["X-MLK-Signature-256"])
    assert delivery["body"]["request"]["id"] == request.id
    attempts = [d for d in list_deliveries(eval_store, request_id=request.id) if d.channel == "webhook"]
    assert [(d.attempt, d.ok, d.status) for d in sorted(attempts, key=lambda d: d.attempt)] == [
        (1, False, 500),
        (2, False, 500),
        (3, True, 200),
    ]

    def mails(event: str) -> list[object]:
        return [m for m in smtp_server.messages if m["X-MLK-Event"] == event]

    wait_for(lambda: mails("request.opened"), timeout=30)
    mail = mails("request.opened")[0]
    assert MODEL in mail["Subject"]
    assert all(smtp_server.tls) and set(smtp_server.logins) == {"mlk"}
    assert request.id in mail.get_payload()

    evaluations.acknowledge(EXPERT, request.id)

    # The expert publishes a version trained on the new data that names the request.
    better = build_drifting("1.1.0", 0.8, resolves=request.id)
    sync_into(eval_store, registry_url)
    report = evaluations.tick()
    assert report.resolved == [request.id] and len(report.started) == 1
    resolved = evaluations.request(EXPERT, request.id)
    assert resolved.state == "resolved" and resolved.resolved_digest == better.digest
    re_evaluation = evaluations.get(resolved.resolution_evaluation_id)
    assert re_evaluation.trigger == "resolution" and re_evaluation.digest == better.digest
    run_executor.wait(re_evaluation.run_id, timeout=180)
    evaluations.tick()
    comparison = evaluations.request(EXPERT, request.id).comparison
    assert comparison["before"]["digest"] == worst.digest
    assert comparison["after"]["digest"] == better.digest
    assert comparison["metrics"]["accuracy"]["before"] == pytest.approx(0.7)
    assert comparison["metrics"]["accuracy"]["after"] == pytest.approx(1.0)
    wait_for(lambda: webhook_receiver.delivered("request.resolved"), timeout=30)
    sent = webhook_receiver.delivered("request.resolved")[0]["body"]["request"]
    assert sent["comparison"]["metrics"]["accuracy"]["after"] == pytest.approx(1.0)
    assert evaluations.notifier.wait(60)
