"""``--scheduler HOST:PORT``: what listens there must greet like a Dask scheduler, or the command says so.

A web server at the address (the dashboard's port given for the scheduler's, say) left `emdenoise denoise`
waiting for ever: distributed's client timeout covers the connection, not the handshake that follows.
"""

import http.server
import socket
import threading
import time

import pytest

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.jobs import cluster
from tests.conftest import main
from tests.jobs.test_blocks import ramp_volume


@pytest.fixture
def listener():
    """A listening socket that accepts (the kernel does) and never speaks; yields its port."""
    sock = socket.create_server(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def web_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_silent_listener_is_refused_in_the_greeting_time(listener):
    started = time.monotonic()
    with pytest.raises(InputError, match="accepted the connection but said nothing in 0.5 s"):
        cluster.check_greeting(f"tcp://127.0.0.1:{listener}", greeting_s=0.5)
    assert time.monotonic() - started < 5


def test_a_banner_that_is_not_dask_is_refused():
    server = socket.create_server(("127.0.0.1", 0))

    def greet():
        conn, _ = server.accept()
        conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
        conn.close()

    threading.Thread(target=greet, daemon=True).start()
    try:
        with pytest.raises(InputError, match=r"not a Dask scheduler \(it began with 'SSH-2.0-'\)"):
            cluster.check_greeting(f"tcp://127.0.0.1:{server.getsockname()[1]}", greeting_s=5)
    finally:
        server.close()


def test_nothing_listening_is_unreachable():
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]  # closed again: nothing listens there now
    with pytest.raises(InputError, match=f"cannot reach a Dask scheduler at 127.0.0.1:{port}"):
        cluster.check_greeting(f"tcp://127.0.0.1:{port}", greeting_s=1)


def test_a_real_scheduler_passes():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1",
                                  dashboard_address=None) as local:
        cluster.check_greeting(local.scheduler_address, greeting_s=5)


def test_the_denoise_command_stops_with_exit_2_at_a_web_server(web_server, tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(cluster, "GREETING_S", 0.5)
    source = ramp_volume(tmp_path / "in.tif")
    started = time.monotonic()
    code = main(["denoise", str(source), "-o", str(tmp_path / "out.zarr"), "--method", "gaussian-avg",
                 "--scheduler", f"127.0.0.1:{web_server}"])
    err = capsys.readouterr().err
    assert code == 2 and time.monotonic() - started < 20
    assert f"--scheduler 127.0.0.1:{web_server}: what listens there accepted the connection but said nothing" in err
    assert "Traceback" not in err and not (tmp_path / "out.zarr").exists()


def test_a_scheduler_with_no_workers_is_said_not_waited_on_for_ever(tmp_path, capsys, monkeypatch):
    """It said "on 0 workers" and waited for ever (last note's open item); now it says so, waits
    ``NO_WORKERS_S`` for some, then stops with exit 2 and keeps what was written."""
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(cluster, "NO_WORKERS_S", 1.0)
    source = ramp_volume(tmp_path / "in.tif")
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1",
                                  dashboard_address=None) as local:
        started = time.monotonic()
        code = main(["denoise", str(source), "-o", str(tmp_path / "out.zarr"), "--method", "gaussian-avg",
                     "--scheduler", local.scheduler_address])
    err = capsys.readouterr().err
    assert code == 2 and time.monotonic() - started < 30, err
    assert "on 0 workers for now: waiting up to 1 s for some" in err
    assert "the Dask scheduler has had no workers for 1 s, so no block can run" in err
    assert "--wait-for-workers SECONDS" in err and "Traceback" not in err


def test_how_long_to_wait_for_workers_is_an_option(tmp_path, capsys):
    """A scheduler that scales from zero may need more than two minutes to get its first worker (review)."""
    distributed = pytest.importorskip("distributed")
    source = ramp_volume(tmp_path / "in.tif")
    args = ["denoise", str(source), "-o", str(tmp_path / "out.zarr"), "--method", "gaussian-avg"]
    assert main([*args, "--scheduler", "tcp://127.0.0.1:1", "--wait-for-workers", "-5"]) == 2
    assert "--wait-for-workers must be a number of seconds above 0, got -5" in capsys.readouterr().err
    assert main([*args, "--scheduler", "local:1", "--wait-for-workers", "5"]) == 2
    assert "--wait-for-workers goes with --scheduler HOST:PORT" in capsys.readouterr().err
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1",
                                  dashboard_address=None) as local:
        assert main([*args, "--scheduler", local.scheduler_address, "--wait-for-workers", "1.5"]) == 2
    err = capsys.readouterr().err
    assert "waiting up to 2 s for some" in err and "no workers for 2 s" in err
