"""The reverse proxy docker-compose.yml ships (deploy/nginx/tracker.conf.template), checked with Debian's nginx.

The template is rendered as the nginx image renders it (envsubst, the PROXY_* variables only) and placed in an
http {} block like the image's nginx.conf. `nginx -t` must accept it; then nginx runs it on loopback in front of
gunicorn serving the project with production settings (gunicorn.conf.py, DEBUG off, BEHIND_TLS_PROXY), and the
answers are checked: HTTPS only, HTML gzipped, hashed static files served by nginx with a year's caching.
Outside CI a missing nginx, openssl or envsubst skips these tests; with CI=true it fails them (.ci/run installs them).
"""

import gzip
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests.conftest import PASSWORD
from tests.support.services import ROOT, Process, free_port, missing, subprocess_env, wait_for
from tracker.api.evidence import MULTIPART_ALLOWANCE

TEMPLATE = ROOT / "deploy" / "nginx" / "tracker.conf.template"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
PROXY = SERVICES["proxy"]
HASHED_CACHING = "public, max-age=31536000, immutable"
SECRET_KEY = "proxy-test-" + "k" * 60
# The image's nginx.conf (nginx:1.28), around the rendered template; the paths nginx writes go to the test's folder.
NGINX_CONF = """
{user}
worker_processes 1;
daemon off;
error_log {dir}/error.log notice;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client-body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    sendfile on;
    keepalive_timeout 65;
    include {dir}/conf.d/*.conf;
}}
"""
# The warning the image's newer nginx logs for `listen ... http2` (the template says why it keeps that form).
KNOWN_WARNING = 'the "listen ... http2" directive is deprecated'


def binary(name, package):
    found = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if Path(p).exists()), None)
    if not found:
        missing(f"{name} (Debian's {package} package)")
    return found


def compose_default(value):
    """A compose value as docker compose fills it in with no .env setting: ${NAME:-default} becomes default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))


def size_in_bytes(nginx_size):
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", nginx_size).groups()
    return int(number) * 1024 ** {"": 0, "k": 1, "m": 2, "g": 3}[unit.lower()]


def template_variables():
    return set(re.findall(r"\$\{(\w+)\}", TEMPLATE.read_text()))


def mount(service, target):
    """The host side (or volume name) of the service's volume mounted at target."""
    for volume in service["volumes"]:
        source, mounted = volume.removesuffix(":ro").rsplit(":", 1)  # a source may be ${NAME:-default}
        if mounted == target:
            return source
    raise AssertionError(f"nothing is mounted at {target}")


def gunicorn_settings(**environment):
    """gunicorn's settings as it reads them from gunicorn.conf.py in the project folder (the image's WORKDIR)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GUNICORN_")}
    env.update(environment)
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--print-config", "project.wsgi:application"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    values = dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.MULTILINE))
    return result, values


# --- What docker-compose.yml ships ---------------------------------------------------------------


def test_it_puts_only_the_proxy_before_the_outside_world():
    assert re.fullmatch(r"nginx:\d+\.\d+(\.\d+)?", PROXY["image"]), "the proxy's image is pinned by version"
    assert sorted(PROXY["ports"]) == ["443:443", "80:80"]
    assert "ports" not in SERVICES["web"]
    assert SERVICES["web"]["expose"] == ["8000"]
    assert compose_default(PROXY["environment"]["PROXY_UPSTREAM"]) == "web:8000"
    assert SERVICES["web"]["command"][SERVICES["web"]["command"].index("--bind") + 1] == "0.0.0.0:8000"


def test_it_mounts_the_template_it_ships_where_the_image_renders_it():
    source = mount(PROXY, "/etc/nginx/templates/default.conf.template")
    assert (ROOT / source).resolve() == TEMPLATE
    # default.conf: the rendered file replaces the image's own server, so none other listens on 80.
    assert PROXY["environment"]["NGINX_ENVSUBST_FILTER"] == "^PROXY_"
    # The certificate and certbot's challenges come from the host folders .env names, read-only.
    for name in ("PROXY_TLS_CERTIFICATE", "PROXY_TLS_CERTIFICATE_KEY"):
        assert "TLS_CERTS_DIR" in mount(PROXY, str(Path(PROXY["environment"][name]).parent))
    assert "ACME_WEBROOT" in mount(PROXY, "/var/www/acme")
    assert "root /var/www/acme;" in TEMPLATE.read_text()
    assert all(volume.endswith(":ro") for volume in PROXY["volumes"])


def test_it_gives_the_template_every_variable_it_uses_and_only_those():
    used = template_variables()
    given = {name for name in PROXY["environment"] if name != "NGINX_ENVSUBST_FILTER"}
    assert used == given
    assert all(re.match(PROXY["environment"]["NGINX_ENVSUBST_FILTER"], name) for name in used)


def test_it_serves_the_static_files_the_image_collected():
    dockerfile = (ROOT / "Dockerfile").read_text()
    var_dir = re.search(r"\bVAR_DIR=(\S+)", dockerfile).group(1)
    collected = f"{var_dir}/{Path(settings.STATIC_ROOT).name}"  # STATIC_ROOT = VAR_DIR/static
    copy = SERVICES["static"]["command"]
    assert copy[:2] == ["cp", "-R"] and copy[2] == f"{collected}/."
    assert mount(SERVICES["static"], copy[3].rstrip("/")) == "static"
    files_root = PROXY["environment"]["PROXY_FILES_ROOT"]
    assert mount(PROXY, f"{files_root}/{settings.STATIC_URL.strip('/')}") == "static"
    assert PROXY["depends_on"]["static"]["condition"] == "service_completed_successfully"


def test_it_lets_through_every_upload_the_application_takes():
    """The largest request the application accepts: a report's evidence files at once (tracker/api/evidence.py)."""
    largest = settings.EVIDENCE_MAX_BYTES * settings.EVIDENCE_MAX_FILES_PER_REPORT + MULTIPART_ALLOWANCE
    proxy_limit = size_in_bytes(compose_default(PROXY["environment"]["PROXY_MAX_BODY_SIZE"]))
    assert proxy_limit >= largest
    assert proxy_limit >= settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_it_waits_for_gunicorn_as_long_as_gunicorn_allows():
    result, values = gunicorn_settings()
    assert result.returncode == 0, result.stderr
    assert compose_default(PROXY["environment"]["PROXY_TIMEOUT"]) == f"{values['timeout']}s"
    assert "GUNICORN_TIMEOUT" in PROXY["environment"]["PROXY_TIMEOUT"]


def test_it_leaves_workers_threads_and_timeout_to_gunicorn_conf():
    """A --workers on a command line would win over GUNICORN_WORKERS in .env without a word."""
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.MULTILINE).group(1))
    for command in (cmd, SERVICES["web"]["command"]):
        assert command[:2] == ["gunicorn", "project.wsgi:application"]
        assert not {"-w", "--workers", "--threads", "-t", "--timeout", "-k", "--worker-class"} & set(command)


def test_it_runs_gunicorn_with_threads_and_takes_its_numbers_from_the_environment():
    result, defaults = gunicorn_settings()
    assert result.returncode == 0, result.stderr
    assert (defaults["worker_class"], defaults["threads"], defaults["timeout"]) == ("gthread", "4", "60")
    assert int(defaults["workers"]) >= 2
    result, values = gunicorn_settings(GUNICORN_WORKERS="5", GUNICORN_THREADS="8", GUNICORN_TIMEOUT="45")
    assert (values["workers"], values["threads"], values["timeout"]) == ("5", "8", "45")
    result, _ = gunicorn_settings(GUNICORN_THREADS="many")
    assert result.returncode != 0
    assert "GUNICORN_THREADS must be a whole number, not 'many'." in result.stderr


# --- nginx with the shipped configuration --------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    openssl = binary("openssl", "openssl")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
        + ["-keyout", str(folder / "privkey.pem"), "-out", str(folder / "fullchain.pem")],
        check=True,
        capture_output=True,
    )
    return folder


def nginx_site(folder, certificate, *, upstream, files_root):
    """The template rendered by envsubst as the image does, in an nginx.conf like the image's; returns its path.
    Machine-specific values (ports, paths) are the test's; the size and timeout limits are docker-compose.yml's."""
    envsubst = binary("envsubst", "gettext-base")
    values = {
        "PROXY_LISTEN_HTTP": f"127.0.0.1:{free_port()}",
        "PROXY_LISTEN_HTTPS": f"127.0.0.1:{free_port()}",
        "PROXY_UPSTREAM": upstream,
        "PROXY_FILES_ROOT": str(files_root),
        "PROXY_TLS_CERTIFICATE": str(certificate / "fullchain.pem"),
        "PROXY_TLS_CERTIFICATE_KEY": str(certificate / "privkey.pem"),
        "PROXY_MAX_BODY_SIZE": compose_default(PROXY["environment"]["PROXY_MAX_BODY_SIZE"]),
        "PROXY_TIMEOUT": compose_default(PROXY["environment"]["PROXY_TIMEOUT"]),
    }
    assert set(values) == template_variables()
    shell_format = " ".join(f"${{{name}}}" for name in values)
    rendered = subprocess.run(
        [envsubst, shell_format],
        input=TEMPLATE.read_text(),
        env={**os.environ, **values},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (folder / "conf.d").mkdir(parents=True)
    (folder / "conf.d" / "default.conf").write_text(rendered)
    user = "user root;" if os.geteuid() == 0 else ""  # as root, workers would otherwise read the test files as nobody
    (folder / "nginx.conf").write_text(NGINX_CONF.format(dir=folder, user=user))
    ports = {name: int(values[name].rsplit(":", 1)[1]) for name in ("PROXY_LISTEN_HTTP", "PROXY_LISTEN_HTTPS")}
    return folder / "nginx.conf", ports["PROXY_LISTEN_HTTP"], ports["PROXY_LISTEN_HTTPS"], rendered


def nginx_args(conf):
    return [binary("nginx", "nginx"), "-p", str(conf.parent), "-e", str(conf.parent / "error.log"), "-c", str(conf)]


def test_it_ships_a_configuration_nginx_accepts(tmp_path, certificate):
    conf, _, _, rendered = nginx_site(tmp_path, certificate, upstream="127.0.0.1:8000", files_root=tmp_path)
    assert "${" not in rendered
    assert "$host$request_uri" in rendered and "$remote_addr" in rendered  # nginx's own variables left alone
    checked = subprocess.run([*nginx_args(conf), "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
    warnings = [line for line in checked.stderr.splitlines() if "[warn]" in line and KNOWN_WARNING not in line]
    assert not warnings


def test_it_compresses_the_types_the_application_sends():
    types = set(re.search(r"gzip_types([^;]*);", TEMPLATE.read_text()).group(1).split())
    expected = {"application/json", "application/problem+json", "text/css", "application/javascript", "image/svg+xml"}
    assert expected <= types  # text/html is always compressed (listing it makes nginx warn)


# --- nginx running it, in front of gunicorn ------------------------------------------------------


class Site:
    """nginx on two loopback ports in front of gunicorn; requests as a browser sends them (http.client: no
    automatic redirects, no automatic decompression)."""

    def __init__(self, http_port, https_port, gunicorn_port, gunicorn, certificate, static_root):
        self.http_port, self.https_port, self.gunicorn_port = http_port, https_port, gunicorn_port
        self.gunicorn = gunicorn
        self.static_root = static_root
        self.tls = ssl.create_default_context(cafile=str(certificate / "fullchain.pem"))
        self.origin = f"https://127.0.0.1:{https_port}"

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def request(self, method, path, *, headers=None, body=None, over="https"):
        if over == "https":
            connection = http.client.HTTPSConnection("127.0.0.1", self.https_port, context=self.tls, timeout=60)
        else:
            port = self.http_port if over == "http" else self.gunicorn_port
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response, response.read()
        finally:
            connection.close()

    def static_name(self, name):
        """The hashed name collectstatic gave a static file (WhiteNoise's manifest)."""
        return json.loads((self.static_root / "staticfiles.json").read_text())["paths"][name]


@pytest.fixture(scope="module")
def site(django_db_setup, tmp_path_factory, certificate):
    """gunicorn serving the project as in production (gunicorn.conf.py, DEBUG off, collected static files,
    BEHIND_TLS_PROXY), on the test database; nginx with the shipped configuration in front; both stopped after.
    Each test using it is marked django_db: pytest-django creates the test database only for a run that has one."""
    binary("nginx", "nginx")
    folder = tmp_path_factory.mktemp("proxy")
    env = subprocess_env()
    env.update(
        DEBUG="false",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL="https://tracker.example.org",
        BEHIND_TLS_PROXY="true",
        VAR_DIR=str(folder / "var"),
        GUNICORN_WORKERS="1",
        GUNICORN_THREADS="2",
    )
    # The project's own static files only: the admin's, DRF's and Swagger's take 40 s to compress and no page here
    # uses them.
    third_party = ["admin", "rest_framework", "drf_spectacular_sidecar", "import_export", "django_otp", "otp_totp"]
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", *(f"--ignore={app}" for app in third_party)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    collected = folder / "var" / "static"
    # The proxy's copy (docker-compose.yml's `static` volume), one release behind: review.css's newest name is missing.
    shutil.copytree(collected, folder / "files" / "static")
    missing_name = json.loads((collected / "staticfiles.json").read_text())["paths"]["css/review.css"]
    (folder / "files" / "static" / missing_name).unlink()

    gunicorn_port = free_port()
    gunicorn_args = [sys.executable, "-m", "gunicorn", "project.wsgi:application"]
    gunicorn_args += ["--bind", f"127.0.0.1:{gunicorn_port}", "--access-logfile", "-"]
    with Process(gunicorn_args, env, folder / "gunicorn.log") as gunicorn:
        conf, http_port, https_port, _ = nginx_site(
            folder / "nginx", certificate, upstream=f"127.0.0.1:{gunicorn_port}", files_root=folder / "files"
        )
        with Process(nginx_args(conf), env, folder / "nginx.log") as proxy:
            site = Site(http_port, https_port, gunicorn_port, gunicorn, certificate, collected)

            def answers():
                try:
                    return site.get("/health/")[0].status in (200, 503)
                except OSError:
                    return False

            wait_for(answers, timeout=60, message="gunicorn behind nginx to answer")
            yield site
            assert proxy.proc.poll() is None, (folder / "nginx" / "error.log").read_text()[-3000:]
        assert gunicorn.proc.poll() is None, gunicorn.output()[-3000:]


def cookies(response):
    return {
        cookie.split("=", 1)[0]: cookie.split(";", 1)[0].split("=", 1)[1]
        for cookie in response.headers.get_all("Set-Cookie") or []
    }


@pytest.mark.django_db
def test_it_sends_plain_http_to_https(site):
    response, _ = site.get("/accounts/login/?next=/review/", over="http")
    assert response.status == 301
    assert response.headers["Location"] == "https://127.0.0.1/accounts/login/?next=/review/"


@pytest.mark.django_db
def test_it_sends_html_gzipped_to_a_browser_that_takes_it(site):
    plain, raw = site.get("/accounts/login/")
    compressed, body = site.get("/accounts/login/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert plain.status == compressed.status == 200
    assert plain.headers["Content-Encoding"] is None
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in compressed.headers["Vary"]
    html = gzip.decompress(body)
    assert html.startswith(b"<!doctype html>") and abs(len(html) - len(raw)) < 200  # a different CSRF token
    assert len(body) < len(raw) / 2


@pytest.mark.django_db
def test_it_sends_the_api_schema_gzipped(site):
    response, body = site.get("/api/schema/?format=json", headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert response.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(body))["info"]["title"] == "Workshop Recommendation Tracker API"


def test_it_signs_in_a_focal_point_of_egypt_over_https_and_sends_her_page_gzipped(
    transactional_db, egypt_focal_point, site
):
    # The gunicorn's hashers are production's; the tests' fast MD5 would not be understood there.
    hasher = PBKDF2PasswordHasher()
    egypt_focal_point.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    egypt_focal_point.save(update_fields=["password"])
    form, html = site.get("/accounts/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1).decode()
    csrf_cookie = cookies(form)["csrftoken"]
    signed_in, _ = site.request(
        "POST",
        "/accounts/login/",
        body=urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": "fp-egypt", "password": PASSWORD}),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf_cookie}",
            # Django compares the browser's Origin with the Host the proxy passed on, port included.
            "Origin": site.origin,
            "Referer": f"{site.origin}/accounts/login/",
        },
    )
    assert signed_in.status == 302, signed_in.headers
    session = cookies(signed_in)["sessionid"]
    assert "Secure" in " ".join(signed_in.headers.get_all("Set-Cookie"))

    her_browser = {"Cookie": f"sessionid={session}", "Accept-Encoding": "gzip, deflate, br", "Accept-Language": "ar"}
    page, body = site.get("/", headers=her_browser)
    assert page.status == 200
    assert page.headers["Content-Encoding"] == "gzip"
    html = gzip.decompress(body).decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert "مصر" in html  # her state, in her language
    assert len(body) < len(html.encode()) / 3


@pytest.mark.django_db
def test_it_serves_hashed_static_files_itself_with_a_years_caching(site):
    _, html = site.get("/accounts/login/")
    stylesheet = "/static/" + site.static_name("css/site.css")
    assert f'href="{stylesheet}"'.encode() in html  # the page links the hashed name
    response, body = site.get(stylesheet, headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    # nginx's header, not WhiteNoise's (max-age=315360000): the file came from the proxy's folder.
    assert response.headers["Cache-Control"] == HASHED_CACHING
    assert response.headers["Content-Type"] == "text/css"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # The .gz WhiteNoise wrote beside it (gzip_static).
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == (site.static_root / site.static_name("css/site.css")).read_bytes()
    unhashed, _ = site.get("/static/css/site.css")
    assert unhashed.status == 200
    assert unhashed.headers["Cache-Control"] == "public, max-age=60"


@pytest.mark.django_db
def test_it_asks_the_application_for_a_static_file_its_folder_lacks(site):
    """The proxy's copy is refreshed by the `static` service; until then WhiteNoise answers for what it lacks."""
    response, body = site.get("/static/" + site.static_name("css/review.css"))
    assert response.status == 200
    assert "max-age=315360000" in response.headers["Cache-Control"]  # WhiteNoise's
    assert body == (site.static_root / site.static_name("css/review.css")).read_bytes()
    absent, _ = site.get("/static/css/no-such-file.0123456789ab.css")
    assert absent.status == 404


@pytest.mark.django_db
def test_it_tells_django_the_request_came_over_https_whatever_the_client_claims(site):
    response, _ = site.get("/accounts/login/", headers={"X-Forwarded-Proto": "http"})
    assert response.status == 200  # not Django's redirect to HTTPS: the proxy's X-Forwarded-Proto is https
    assert len(response.headers.get_all("Strict-Transport-Security")) == 1  # Django's, and only Django's
    direct, _ = site.get("/accounts/login/", over="gunicorn")
    assert direct.status == 301  # the same page asked of gunicorn without the proxy
    assert direct.headers["Location"] == f"https://127.0.0.1:{site.gunicorn_port}/accounts/login/"


@pytest.mark.django_db
def test_it_gives_gunicorn_the_clients_address_not_the_one_it_claims(site):
    site.get("/accounts/login/?who=spoofer", headers={"X-Forwarded-For": "203.0.113.9"})
    wait_for(lambda: "who=spoofer" in site.gunicorn.output(), timeout=10, message="gunicorn's access log")
    line = next(line for line in site.gunicorn.output().splitlines() if "who=spoofer" in line)
    assert line.startswith("127.0.0.1 ")
    assert "203.0.113.9" not in line


@pytest.mark.django_db
def test_it_passes_on_the_applications_answer_to_a_large_body_it_did_not_read(site):
    """2 MB of JSON without credentials: the API answers 401 before reading the body. nginx alone would refuse it
    (over its default 1 MB); gunicorn alone would close with the body unread, nginx would get a reset while still
    sending it and answer 502 about one time in ten (gunicorn.conf.py's post_request reads the rest)."""
    body = json.dumps({"narrative": "x" * 2 * 1024 * 1024})
    headers = {"Content-Type": "application/json"}
    answers = [site.request("POST", "/api/v1/implementations/", body=body, headers=headers) for _ in range(20)]
    assert [response.status for response, _ in answers] == [401] * 20
    response, answer = answers[-1]
    assert response.headers["Content-Type"] == "application/problem+json"
    assert json.loads(answer)["status"] == 401
