"""The learners' own path: JupyterLab, a learner notebook, its first cells run in a browser."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from course_app.settings import PROJECT_ROOT
from tests.browser import screenshot


@pytest.fixture
def jupyter_lab(tmp_path):
    """JupyterLab on a copy of notebooks/, so nothing it saves lands in the repository."""
    root = tmp_path / "notebooks"
    shutil.copytree(PROJECT_ROOT / "notebooks", root)
    settings = tmp_path / "settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (
        settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    ).write_text('{"fetchNews": "false", "checkForUpdates": false}')
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        '{"autoStartDefaultKernel": true}'  # as `course_app open` makes the default
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    server = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/api/status", timeout=1)
                break
            except OSError:
                time.sleep(0.25)
        else:
            pytest.fail("jupyter lab did not answer within 30 s")
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # `jupyter lab stop` answers 403 without a token
        server.wait(timeout=20)


def test_a_learner_notebook_runs_in_jupyterlab(browser, jupyter_lab):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{jupyter_lab}/lab/tree/00_start_here.ipynb?reset")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=60_000)
    ready = panel.locator(".jp-OutputArea-output", has_text="Lesson 0 is ready")
    # JupyterLab can report the kernel idle a moment before it accepts executions, and
    # then drops the request (every cell stays "[ ]"). Run All again if nothing ran;
    # a lesson is safe to re-run, its first cell starts it afresh.
    for _attempt in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            ready.wait_for(timeout=20_000)
            break
        except Exception:
            screenshot(page, "jupyterlab-nothing-ran")
    else:
        pytest.fail(
            "JupyterLab ran no cell after three Run All Cells (screenshots/jupyterlab-nothing-ran.png)"
        )
    assert "database alembic_course_lesson00 at revision 0005" in ready.inner_text()
    # The lesson's checks run while the suite's other worker runs lessons 9 and 10's pytest and
    # alembic processes: on two cores that can take a while, though it happens every time.
    panel.locator(".jp-OutputArea-output", has_text="Not attempted").first.wait_for(timeout=90_000)
    screenshot(page, "jupyterlab-00_start_here")
    page.close()


def test_check_results_look_different_in_jupyterlab(browser, jupyter_lab, tmp_path):
    """Correct in green, not yet in amber, not attempted in grey: as HTML, told apart by more
    than colour (the words stay), in the learner's real JupyterLab."""
    import nbformat

    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / "00_start_here.ipynb", as_version=4)
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "import course_app\nfrom course_app.exercises import ____, lesson00 as ex\n\n"
            "lesson = course_app.start(0)"
        ),
        nbformat.v4.new_code_cell('ex.current_revision.check("head")'),
        nbformat.v4.new_code_cell('ex.current_revision.check("0005")'),
        nbformat.v4.new_code_cell("ex.current_revision.check(____)"),
    ]
    nbformat.write(notebook, tmp_path / "notebooks" / "checks.ipynb")
    page = browser.new_page(viewport={"width": 1200, "height": 700})
    page.goto(f"{jupyter_lab}/lab/tree/checks.ipynb?reset")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=60_000)
    boxes = panel.locator(".course-check")
    for _attempt in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            panel.locator(".course-check-not-attempted").wait_for(timeout=20_000)
            break
        except Exception:
            screenshot(page, "jupyterlab-checks-nothing-ran")
    else:
        pytest.fail("JupyterLab ran no cell (screenshots/jupyterlab-checks-nothing-ran.png)")
    assert boxes.count() == 3
    said = [boxes.nth(i).inner_text() for i in range(3)]
    assert said[0].startswith("✘ Not yet:") and said[1].startswith("✔ Correct!")
    assert said[2].startswith("… Not attempted:")
    colours = {boxes.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(3)}
    assert len(colours) == 3, colours
    screenshot(page, "jupyterlab-checks")
    page.close()


@pytest.mark.parametrize("codespace", [False, True])
def test_open_in_a_codespace_answers_its_forwarded_address(codespace):
    """A Codespace's browser asks for JupyterLab by a github.dev host name: refused
    anywhere else (Jupyter's guard against DNS rebinding), answered in a Codespace."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "CODESPACES"}
    if codespace:
        env["CODESPACES"] = "true"
    argv = ["--no-browser", f"--port={port}", "--IdentityProvider.token=t0ken"]
    lab = subprocess.Popen(
        [sys.executable, "-m", "course_app", "open", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    forwarded = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/status",
        headers={"Host": f"learner-x-{port}.app.github.dev", "Authorization": "token t0ken"},
    )
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # it answers (403 without the token)
            except OSError:
                time.sleep(0.25)
        try:
            status = urllib.request.urlopen(forwarded, timeout=5).status
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status == (200 if codespace else 403)
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=20)
