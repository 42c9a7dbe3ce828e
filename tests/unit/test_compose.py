"""docker-compose.yml (production) agrees with the code: services, ports, healthchecks, settings.

No Docker engine runs here, so the file is parsed and checked against the settings classes,
the commands the services are started with and the Dockerfile.
"""

from __future__ import annotations

import importlib
import os
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from contracts.settings import require_trust_secrets
from upr.commands.keys import new_keys

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")

# compose service -> the module holding the settings class it is configured through
SETTINGS_MODULES = {
    "topics": "contracts.kafka_access",
    "tracker": "services.tracker.settings",
    "ingest": "services.ingest.settings",
    "notifier": "services.notifier.settings",
    "ui": "ui.settings",
    "public": "ui.settings",
    "telegram": "services.notifier.settings",
}
APP_SERVICES = ("tracker", "ingest", "notifier", "ui", "public")
# Everything but the public page, which reaches no database and no broker (only the read API).
BACKEND_SERVICES = ("tracker", "ingest", "notifier", "ui")
FASTSTREAM_SERVICES = ("tracker", "ingest", "notifier")
# What an operator puts in .env for the variables the file demands (${VAR:?...}).
OPERATOR_ENV = {"UPR_NOTIFIER_SECRET": "a-long-random-secret-from-env", "UPR_SMTP_HOST": "smtp.example.org",
                "UPR_UI_SESSION_SECRET": "another-long-random-secret-from-env",
                "UPR_NOTIFIER_SECRETS_KEY": "a-fernet-key-from-env",
                "UPR_AUTH_SECRET": "a-token-secret-of-at-least-32-bytes-from-env",
                **new_keys("k1"),  # per-producer signing keys, their public keys, the text key pair
                "MONGO_ROOT_PASSWORD": "root-password-from-env", "MONGO_APP_PASSWORD": "app-password-from-env",
                "UPR_PUBLIC_UI_URL": "https://upr.example.org",
                "UPR_PUBLIC_NOTIFIER_URL": "https://alerts.upr.example.org",
                **{f"UPR_KAFKA_{p.upper()}_PASSWORD": f"kafka-{p}-password-from-the-operators-env"
                   for p in ("admin", "ingest", "tracker", "notifier", "ui")}}

_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<plain>\w+)")


class MissingVariable(LookupError):
    pass


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}; $$ is a literal $."""

    def replace(match: re.Match[str]) -> str:
        name = match["name"] or match["plain"]
        op, arg = match["op"], match["arg"] or ""
        present = name in env and (env[name] != "" or not (op or "").startswith(":"))
        if present:
            return env[name]
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            raise MissingVariable(f"{name}: {arg}")
        return ""

    parts = value.split("$$")
    return "$".join(_VARIABLE.sub(replace, part) for part in parts)


def environment(service: str, env: dict[str, str] | None = None) -> dict[str, str | None]:
    """The service's environment after interpolation; None = passed through only when set."""
    raw = SERVICES[service].get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    source = OPERATOR_ENV if env is None else env
    return {k: None if v is None else interpolate(str(v), source) for k, v in raw.items()}


def settings_class(service: str) -> type[BaseSettings]:
    module_name = SETTINGS_MODULES[service]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            pytest.skip(f"{service}: {module_name} does not exist yet")
        raise
    classes = [c for c in vars(module).values()
               if isinstance(c, type) and issubclass(c, BaseSettings) and c.__module__ == module_name]
    assert len(classes) == 1, f"{module_name} should define one settings class, found {classes}"
    return classes[0]


def env_name(cls: type[BaseSettings], field: str) -> str:
    return f"{cls.model_config.get('env_prefix', '')}{field}".upper()


def command(service: str) -> list[str]:
    cmd = SERVICES[service]["command"]
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


def listening_port(service: str) -> int:
    cmd = command(service)
    flag = "--server.port" if cmd[0] == "streamlit" else "--port"
    assert flag in cmd, f"{service}: the command does not say which port it listens on ({flag})"
    return int(cmd[cmd.index(flag) + 1])


def healthcheck_url(service: str) -> str:
    check = SERVICES[service].get("healthcheck")
    assert check, f"{service} has no healthcheck"
    test = check["test"]
    text = test if isinstance(test, str) else " ".join(test)
    urls = re.findall(r"https?://[^\s'\"]+", text)
    assert len(urls) == 1, f"{service}: expected one URL in the healthcheck, got {urls}"
    return urls[0]


def published(service: str) -> list[dict[str, Any]]:
    """Each published port as {host_ip, published, target}, from the short or long syntax."""
    out = []
    for port in SERVICES[service].get("ports") or []:
        if isinstance(port, dict):
            out.append({"host_ip": port.get("host_ip"), "published": int(port["published"]),
                        "target": int(port["target"])})
            continue
        parts = str(port).split(":")
        host_ip = parts[0] if len(parts) == 3 else None
        out.append({"host_ip": host_ip, "published": int(parts[-2]) if len(parts) >= 2 else None,
                    "target": int(parts[-1].split("/")[0])})
    return out


def depends_on(service: str) -> dict[str, str]:
    deps = SERVICES[service].get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


# --- the parts of the system -----------------------------------------------------------


def test_compose_runs_every_part_of_the_system() -> None:
    assert set(SERVICES) == {"kafka", "mongo", "topics", "tracker", "ingest", "notifier", "ui", "public", "telegram"}


def test_the_telegram_bot_runs_with_the_notifiers_token_only_when_asked() -> None:
    assert command("telegram") == ["python", "-m", "services.notifier.telegram_bot"]
    assert SERVICES["telegram"]["profiles"] == ["telegram"]  # off unless --profile telegram
    assert Path(SERVICES["telegram"]["build"]["context"]) == Path(".")  # the project's own image, no port
    assert "UPR_TELEGRAM_BOT_TOKEN" in environment("telegram") and "UPR_TELEGRAM_BOT_TOKEN" in environment("notifier")


def test_kafka_and_mongo_come_from_official_images_with_pinned_versions() -> None:
    kafka_image, mongo_image = SERVICES["kafka"]["image"], SERVICES["mongo"]["image"]
    assert kafka_image.startswith("apache/kafka:"), kafka_image
    assert mongo_image.startswith("mongo:7"), mongo_image
    for image in (kafka_image, mongo_image):
        assert not image.endswith(":latest")


def test_production_kafka_is_the_version_the_local_stack_tests_against() -> None:
    pom = (ROOT / "infra" / "kafka" / "pom.xml").read_text(encoding="utf-8")
    local = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    assert local, "infra/kafka/pom.xml names no kafka.version"
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{local[1]}"


def test_kafka_is_a_single_kraft_node_that_never_creates_topics_by_itself() -> None:
    env = {k: str(v) for k, v in environment("kafka").items()}
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "CLIENT://kafka:9092"
    assert "CLIENT://:9092" in env["KAFKA_LISTENERS"] and "CONTROLLER://:9093" in env["KAFKA_LISTENERS"]
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"):
        assert env[key] == "1", key
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", env["CLUSTER_ID"]), "CLUSTER_ID must be a base64 UUID"
    assert f"kafka-data:{env['KAFKA_LOG_DIRS']}" in SERVICES["kafka"]["volumes"], "the log dirs must be a volume"
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in str(SERVICES["kafka"]["healthcheck"]["test"])


def test_kafka_lets_in_only_logged_in_clients_and_applies_acls() -> None:
    env = {k: str(v) for k, v in environment("kafka").items()}
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}, "no listener may accept clients without a login"
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert env["KAFKA_SUPER_USERS"] == "User:admin"
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    admin_password = OPERATOR_ENV["UPR_KAFKA_ADMIN_PASSWORD"]
    assert f'user_admin="{admin_password}"' in env["KAFKA_LISTENER_NAME_CLIENT_PLAIN_SASL_JAAS_CONFIG"]
    with pytest.raises(MissingVariable, match="UPR_KAFKA_ADMIN_PASSWORD"):
        environment("kafka", {})


@pytest.mark.parametrize("service", BACKEND_SERVICES)
def test_each_service_logs_in_to_kafka_as_its_own_principal_with_the_password_the_topics_job_sets(
    service: str,
) -> None:
    from contracts.kafka_access import GRANTS

    env, topics_env = environment(service), environment("topics")
    assert env["UPR_KAFKA_USERNAME"] == service and service in GRANTS
    password_var = f"UPR_KAFKA_{service.upper()}_PASSWORD"
    assert env["UPR_KAFKA_PASSWORD"] == topics_env[password_var] == OPERATOR_ENV[password_var]
    with pytest.raises(MissingVariable, match=password_var):
        environment(service, {k: v for k, v in OPERATOR_ENV.items() if k != password_var})
    assert topics_env["UPR_KAFKA_USERNAME"] == "admin"
    assert topics_env["UPR_KAFKA_PASSWORD"] == OPERATOR_ENV["UPR_KAFKA_ADMIN_PASSWORD"]


def test_mongo_keeps_its_data_in_a_volume_and_requires_a_login() -> None:
    env = environment("mongo")
    assert env["MONGO_INITDB_ROOT_USERNAME"] and env["MONGO_INITDB_ROOT_PASSWORD"]
    assert any(str(v).endswith(":/data/db") for v in SERVICES["mongo"]["volumes"])
    check = " ".join(SERVICES["mongo"]["healthcheck"]["test"])
    assert "mongosh" in check and "ping" in check
    volumes = set(COMPOSE.get("volumes") or {})
    for service in ("kafka", "mongo"):
        for volume in SERVICES[service]["volumes"]:
            assert str(volume).split(":")[0] in volumes, f"{service}: {volume} is not a named volume"


def test_the_services_log_in_to_mongo_as_the_app_user_the_database_creates() -> None:
    mongo_env = environment("mongo")
    script = COMPOSE["configs"]["mongo-app-user"]["content"]
    assert "createUser" in script and "readWrite" in script
    for service in BACKEND_SERVICES:
        uri = urlsplit(str(environment(service)["UPR_MONGODB_URI"]))
        assert uri.username == mongo_env["MONGO_APP_USER"], service
        assert uri.password == mongo_env["MONGO_APP_PASSWORD"], service
        assert environment(service)["UPR_MONGODB_DB"] == mongo_env["MONGO_APP_DB"], service
        assert "authSource=admin" in uri.query, service


def test_topics_are_created_once_kafka_is_healthy_by_the_upr_cli() -> None:
    topics = SERVICES["topics"]
    assert command("topics")[:3] == ["upr", "topics", "create"]
    assert depends_on("topics") == {"kafka": "service_healthy"}
    assert str(topics.get("restart", "no")) == "no", "a one-shot job must not restart"


# --- the application containers --------------------------------------------------------


@pytest.mark.parametrize("service", [*APP_SERVICES, "topics"])
def test_app_containers_run_the_projects_own_image(service: str) -> None:
    build = SERVICES[service]["build"]
    assert Path(build["context"]) == Path("."), service
    assert build.get("dockerfile", "Dockerfile") == "Dockerfile"


@pytest.mark.parametrize("service", FASTSTREAM_SERVICES)
def test_each_service_runs_its_faststream_app_on_all_interfaces(service: str) -> None:
    cmd = command(service)
    assert cmd[:3] == ["faststream", "run", f"services.{service}.app:app"]
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    assert (ROOT / "services" / service / "app.py").exists()


@pytest.mark.parametrize(("service", "script"), [("ui", "ui/app.py"), ("public", "ui/public/site.py")])
def test_the_uis_run_streamlit_on_all_interfaces(service: str, script: str) -> None:
    cmd = command(service)
    assert cmd[:3] == ["streamlit", "run", script]
    assert cmd[cmd.index("--server.address") + 1] == "0.0.0.0"
    assert (ROOT / script).exists()


@pytest.mark.parametrize("service", APP_SERVICES)
def test_healthcheck_probes_the_port_the_command_listens_on(service: str) -> None:
    port = listening_port(service)
    url = urlsplit(healthcheck_url(service))
    assert url.hostname in {"127.0.0.1", "localhost"}
    assert url.port == port, f"{service} listens on {port} but its healthcheck asks {url.port}"
    assert url.path == ("/_stcore/health" if service in ("ui", "public") else "/health")
    test = SERVICES[service]["healthcheck"]["test"]
    # python:3.11-slim has no curl: the probe must be Python (exit status 0 only for a 2xx answer).
    assert test[:3] == ["CMD", "python", "-c"], test


@pytest.mark.parametrize("service", APP_SERVICES)
def test_published_port_reaches_the_port_the_command_listens_on(service: str) -> None:
    ports = published(service)
    assert ports, f"{service} publishes no port"
    assert {p["target"] for p in ports} == {listening_port(service)}


@pytest.mark.parametrize("service", APP_SERVICES)
def test_port_setting_agrees_with_the_command(service: str) -> None:
    cls = settings_class(service)
    field = f"{service}_port"
    if field not in cls.model_fields:
        pytest.skip(f"{cls.__name__} has no {field}")
    configured = environment(service).get(env_name(cls, field))
    port = int(configured) if configured is not None else cls.model_fields[field].default
    assert port == listening_port(service)


def test_every_published_port_is_bound_to_localhost_only() -> None:
    for name in SERVICES:
        for port in published(name):
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes {port} beyond this machine"
    assert not published("kafka") and not published("mongo"), "Kafka and MongoDB stay inside the network"


@pytest.mark.parametrize("service", BACKEND_SERVICES)
def test_app_services_restart_and_wait_for_healthy_dependencies(service: str) -> None:
    assert SERVICES[service]["restart"] == "unless-stopped"
    deps = depends_on(service)
    assert deps.get("kafka") == "service_healthy"
    assert deps.get("mongo") == "service_healthy"
    assert deps.get("topics") == "service_completed_successfully"
    for dependency, condition in deps.items():
        assert dependency in SERVICES, f"{service} depends on unknown {dependency}"
        if "healthcheck" in SERVICES[dependency]:
            assert condition == "service_healthy", f"{service} must wait until {dependency} is healthy"


def test_the_public_page_reaches_only_the_read_api() -> None:
    env = environment("public")
    assert "UPR_MONGODB_URI" not in env and "UPR_KAFKA_BOOTSTRAP" not in env
    assert env["UPR_TRACKER_URL"] == "http://tracker:8001"
    assert SERVICES["public"]["restart"] == "unless-stopped"
    assert depends_on("public") == {"tracker": "service_healthy"}


def test_the_ui_waits_for_the_services_it_sends_work_to() -> None:
    deps = depends_on("ui")
    assert deps.get("tracker") == deps.get("ingest") == "service_healthy"


# --- environment against the settings classes ------------------------------------------


@pytest.mark.parametrize("service", list(SETTINGS_MODULES))
def test_every_env_var_is_a_setting_of_that_service(service: str) -> None:
    cls = settings_class(service)
    known = {env_name(cls, name) for name in cls.model_fields}
    unknown = sorted(set(environment(service)) - known)
    assert not unknown, f"{service}: {unknown} are not fields of {cls.__name__} (typo, or a setting to add)"


@pytest.mark.parametrize("service", list(SETTINGS_MODULES))
def test_every_required_setting_is_provided(service: str) -> None:
    cls = settings_class(service)
    env = environment(service)
    missing = [name for name, field in cls.model_fields.items()
               if field.is_required() and env.get(env_name(cls, name)) is None]
    assert not missing, f"{service}: {cls.__name__} requires {missing} but compose does not set them"


@pytest.mark.parametrize("service", list(SETTINGS_MODULES))
def test_settings_class_accepts_every_value_compose_gives(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cls = settings_class(service)
    for name in [k for k in os.environ if k.upper().startswith("UPR_")]:
        monkeypatch.delenv(name)
    env = environment(service)
    for name, value in env.items():
        if value is not None:
            monkeypatch.setenv(name, value)
    try:
        settings = cls(_env_file=None)  # type: ignore[call-arg]
    except ValidationError as exc:
        pytest.fail(f"{service}: compose's environment is not valid for {cls.__name__}:\n{exc}")
    for name, value in env.items():
        field = name.removeprefix(str(cls.model_config.get("env_prefix", ""))).lower()
        if value not in (None, "") and isinstance(getattr(settings, field), str):
            assert getattr(settings, field) == value


@pytest.mark.parametrize("service", [s for s in SETTINGS_MODULES if s != "public"])
def test_services_reach_kafka_and_mongo_by_their_compose_names(service: str) -> None:
    env = environment(service)
    assert env["UPR_KAFKA_BOOTSTRAP"] == "kafka:9092"
    kafka_port = int(str(environment("kafka")["KAFKA_ADVERTISED_LISTENERS"]).rsplit(":", 1)[1])
    assert int(str(env["UPR_KAFKA_BOOTSTRAP"]).rsplit(":", 1)[1]) == kafka_port
    if service == "topics":
        return
    uri = urlsplit(str(env["UPR_MONGODB_URI"]))
    assert uri.scheme == "mongodb" and uri.hostname == "mongo" and uri.port == 27017


def test_the_ui_calls_each_service_by_its_compose_name_and_port() -> None:
    env = environment("ui")
    for service in FASTSTREAM_SERVICES:
        url = urlsplit(str(env[f"UPR_{service.upper()}_URL"]))
        assert (url.hostname, url.port) == (service, listening_port(service)), service


def test_secrets_must_come_from_the_operator_not_from_the_file() -> None:
    with pytest.raises(MissingVariable, match="UPR_NOTIFIER_SECRET"):
        environment("notifier", {k: v for k, v in OPERATOR_ENV.items() if k != "UPR_NOTIFIER_SECRET"})
    notifier_cls = settings_class("notifier")
    placeholder = notifier_cls.model_fields["notifier_secret"].default
    assert environment("notifier")["UPR_NOTIFIER_SECRET"] != placeholder
    assert environment("notifier")["UPR_NOTIFIER_SECRET"] == OPERATOR_ENV["UPR_NOTIFIER_SECRET"]
    # Issue 13, row 8: the key for webhook secrets and the public URLs in alert links are required.
    for name in ("UPR_NOTIFIER_SECRETS_KEY", "UPR_PUBLIC_NOTIFIER_URL", "UPR_PUBLIC_UI_URL"):
        with pytest.raises(MissingVariable, match=name):
            environment("notifier", {k: v for k, v in OPERATOR_ENV.items() if k != name})
        assert environment("notifier")[name] == OPERATOR_ENV[name]
    # The UI's session cookies: without a configured secret each replica would sign its own.
    with pytest.raises(MissingVariable, match="UPR_UI_SESSION_SECRET"):
        environment("ui", {k: v for k, v in OPERATOR_ENV.items() if k != "UPR_UI_SESSION_SECRET"})
    assert environment("ui")["UPR_UI_SESSION_SECRET"] == OPERATOR_ENV["UPR_UI_SESSION_SECRET"]


# Issue 13 row 8: no secret, database password or public address has a default in the file.
REQUIRED_FROM_OPERATOR = {
    "notifier": ("UPR_AUTH_SECRET", "UPR_COMMAND_PUBLIC_KEYS", "MONGO_APP_PASSWORD", "UPR_NOTIFIER_SECRET",
                 "UPR_PUBLIC_UI_URL", "UPR_PUBLIC_NOTIFIER_URL"),
    "tracker": ("UPR_AUTH_SECRET", "UPR_COMMAND_PUBLIC_KEYS", "UPR_TEXT_KEK", "MONGO_APP_PASSWORD"),
    "ingest": ("UPR_AUTH_SECRET", "UPR_COMMAND_SIGNING_KEY_INGEST", "UPR_TEXT_PUBLIC_KEY", "MONGO_APP_PASSWORD"),
    "ui": ("UPR_AUTH_SECRET", "UPR_COMMAND_SIGNING_KEY_UI", "UPR_TEXT_PUBLIC_KEY", "MONGO_APP_PASSWORD",
           "UPR_UI_SESSION_SECRET"),
    "mongo": ("MONGO_ROOT_PASSWORD", "MONGO_APP_PASSWORD"),
}


@pytest.mark.parametrize("service", list(REQUIRED_FROM_OPERATOR))
def test_row8_compose_requires_every_secret_password_and_public_url(service: str) -> None:
    for variable in REQUIRED_FROM_OPERATOR[service]:
        with pytest.raises(MissingVariable, match=variable):
            environment(service, {k: v for k, v in OPERATOR_ENV.items() if k != variable})
    env = environment(service)
    for value in env.values():  # nothing left over from the old local-only defaults
        assert "local-only" not in str(value)


def test_each_producer_signs_with_its_own_key_and_the_consumers_hold_none() -> None:
    """Per-producer keys: a compromised tracker or notifier cannot sign a command, nor one
    producer as another; only the tracker holds the private text key."""
    signing = {s: environment(s).get("UPR_COMMAND_SIGNING_KEY") for s in BACKEND_SERVICES}
    assert signing["ui"] == OPERATOR_ENV["UPR_COMMAND_SIGNING_KEY_UI"]
    assert signing["ingest"] == OPERATOR_ENV["UPR_COMMAND_SIGNING_KEY_INGEST"]
    assert signing["tracker"] is None and signing["notifier"] is None
    assert [s for s in BACKEND_SERVICES if "UPR_TEXT_KEK" in environment(s)] == ["tracker"]
    for service in ("tracker", "notifier"):
        assert environment(service)["UPR_COMMAND_PUBLIC_KEYS"] == OPERATOR_ENV["UPR_COMMAND_PUBLIC_KEYS"]
        assert environment(service)["UPR_COMMAND_KEY"] == ""  # the old shared key only when the operator sets it
    for service in BACKEND_SERVICES:  # and each starts with what it is given (production checks)
        settings = settings_class(service)(_env_file=None, **{  # type: ignore[call-arg]
            k.removeprefix("UPR_").lower(): v for k, v in environment(service).items()
            if k.startswith("UPR_") and v is not None})
        require_trust_secrets(settings)  # type: ignore[arg-type]


def test_an_unset_smtp_login_stays_unset_rather_than_empty() -> None:
    env = environment("notifier")
    assert env["UPR_SMTP_USERNAME"] is None and env["UPR_SMTP_PASSWORD"] is None


# --- the image --------------------------------------------------------------------------


def _final_stage(dockerfile: str) -> str:
    return re.split(r"(?m)^FROM ", dockerfile)[-1]


def _instructions(stage: str, keyword: str) -> list[str]:
    """The stage's instructions of one kind, continuation lines joined, comments left out."""
    lines = [line for line in stage.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(f"{keyword} ")]


def test_image_is_python_3_11_slim_running_as_a_non_root_user() -> None:
    stages = re.findall(r"(?m)^FROM (\S+)", DOCKERFILE)
    assert stages and all(s == "python:3.11-slim" for s in stages), stages
    users = re.findall(r"(?m)^USER (\S+)", _final_stage(DOCKERFILE))
    assert users and users[-1] not in {"root", "0"}, users


def test_image_has_khmer_fonts_and_installs_the_project_from_pyproject() -> None:
    installs = [run for run in _instructions(_final_stage(DOCKERFILE), "RUN") if "apt-get install" in run]
    assert any("fonts-khmeros" in run for run in installs), installs
    assert "COPY pyproject.toml" in DOCKERFILE and "pip install --no-deps ." in DOCKERFILE
    assert re.search(r"(?m)^CMD ", _final_stage(DOCKERFILE)), "the default command should print help"


def test_the_image_build_context_leaves_out_local_state_and_secrets() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    ignore = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*", ".dockerignore should be an allowlist: ignore everything, then let in"
    let_in = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert {"pyproject.toml", "contracts", "services", "ui", "upr"} <= let_in
    assert not let_in & {".env", ".venv", ".stack", ".git", "tests"}
