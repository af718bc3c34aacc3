#!/usr/bin/python3
"""Checks Ferry's Kubernetes manifests without a cluster.

Against the Kubernetes API schema, as Debian's python3-kubernetes carries
it (its model classes: every field's name and type, and which are
required): an unknown or misspelt field, a wrong type or a missing required
field is an error. Then against Ferry itself: the DaemonSet's command and
probe programs are files the Debian package installs, its image is the
package's version, its flag file is the ConfigMap's, the probes use the
socket that configuration names, /run/ferry is shared with the
application pod, which joins the sockets' group by number, and hugepage
requests equal their limits. Prints the ConfigMap's ferryd.conf to a file
for `ferryctl config check`.

  validate_manifests.py --package-files LIST --version VERSION \
      --config-out FILE MANIFEST.yaml...
LIST: one installed path per line (from `dpkg-deb -c`).
"""
import argparse
import re
import sys

import kubernetes.client
import yaml

# Kinds used by the manifests, by (apiVersion, kind).
MODELS = {
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Pod"): "V1Pod",
    ("apps/v1", "DaemonSet"): "V1DaemonSet",
}
PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float)}
# Kubernetes resource quantities (1Gi, 500m, 2, 1.5e3).
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i?|[munk])?$")


class Problems:
    def __init__(self):
        self.items = []

    def add(self, where, what):
        self.items.append(f"{where}: {what}")


def check_schema(value, type_name, where, problems):
    """Walks `value` against the client's model `type_name`."""
    if type_name.startswith("list["):
        if not isinstance(value, list):
            problems.add(where, f"expected a list, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            check_schema(item, type_name[5:-1], f"{where}[{i}]", problems)
        return
    if type_name.startswith("dict("):
        if not isinstance(value, dict):
            problems.add(where, f"expected a map, got {type(value).__name__}")
            return
        inner = type_name[5:-1].split(", ", 1)[1]
        for key, item in value.items():
            check_schema(item, inner, f"{where}.{key}", problems)
        return
    if type_name == "object":  # IntOrString and free-form fields
        return
    if type_name in ("datetime", "date"):
        if not isinstance(value, str):
            problems.add(where, "expected a time string")
        return
    if type_name in PRIMITIVES:
        wanted = PRIMITIVES[type_name]
        if isinstance(value, bool) and type_name != "bool":
            problems.add(where, f"expected {type_name}, got a boolean")
        elif not isinstance(value, wanted):
            problems.add(where, f"expected {type_name}, got "
                         f"{type(value).__name__} {value!r}")
        return
    model = getattr(kubernetes.client, type_name)
    if not isinstance(value, dict):
        problems.add(where, f"expected a {type_name} object")
        return
    by_json = {json: attr for attr, json in model.attribute_map.items()}
    for key, item in value.items():
        attr = by_json.get(key)
        if attr is None:
            problems.add(f"{where}.{key}", f"no such field in {type_name}")
            continue
        check_schema(item, model.openapi_types[attr], f"{where}.{key}",
                     problems)


def check_required(doc, type_name, where, problems):
    """The client's own construction checks required fields."""
    try:
        kubernetes.client.ApiClient()._ApiClient__deserialize(doc, type_name)
    except (ValueError, TypeError) as error:
        problems.add(where, str(error))


def flags_of(conf_text):
    """--name=value pairs of a flag file (comments and blanks skipped)."""
    flags = {}
    for line in conf_text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        flags[name] = value
    return flags


def check_ferry(docs, package_files, version, problems):
    """What the manifests must agree on with the package and each other."""
    by_kind = {}
    for where, doc in docs:
        by_kind.setdefault(doc["kind"], []).append((where, doc))
    if not by_kind.get("DaemonSet"):
        problems.add("manifests", "no DaemonSet")
        return None
    if not by_kind.get("ConfigMap"):
        problems.add("manifests", "no ConfigMap")
        return None
    ds_where, ds = by_kind["DaemonSet"][0]
    cm_where, cm = by_kind["ConfigMap"][0]
    conf = cm.get("data", {}).get("ferryd.conf")
    if conf is None:
        problems.add(cm_where, "no ferryd.conf key")
        return None
    flags = flags_of(conf)
    socket = flags.get("--grpc_socket", "/run/ferry/ferryd.sock")
    group = flags.get("--grpc_socket_group", "")

    pod = ds["spec"]["template"]["spec"]
    if not pod.get("hostNetwork"):
        problems.add(ds_where, "ferryd needs hostNetwork (it owns a NIC)")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for c in pod["containers"]:
        where = f"{ds_where} container {c['name']}"
        programs = [c.get("command", [None])[0]]
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            if probe in c:
                command = c[probe].get("exec", {}).get("command")
                if not command:
                    problems.add(where, f"{probe} is not an exec probe")
                    continue
                programs.append(command[0])
                if f"--socket={socket}" not in command:
                    problems.add(where, f"{probe} does not ask {socket}")
        for program in programs:
            if program not in package_files:
                problems.add(where, f"{program} is not in the package")
        image_version = c["image"].rpartition(":")[2]
        if image_version != version:
            problems.add(where, f"image {c['image']} is not version {version}")
        if "--flagfile=/etc/ferry/ferryd.conf" not in c.get("command", []):
            problems.add(where, "ferryd is not started on /etc/ferry/ferryd.conf")
        mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
        config = mounts.get("/etc/ferry")
        if config is None or volumes.get(config["name"], {}).get(
                "configMap", {}).get("name") != cm["metadata"]["name"]:
            problems.add(where, "the ConfigMap is not mounted at /etc/ferry")
        run = mounts.get(socket.rpartition("/")[0])
        if run is None or "hostPath" not in volumes.get(run["name"], {}):
            problems.add(where, f"{socket}'s directory is not a hostPath")
        resources = c.get("resources", {})
        for name, amount in resources.get("limits", {}).items():
            if name.startswith("hugepages-") and (
                    resources.get("requests", {}).get(name) != amount):
                problems.add(where, f"{name} request must equal its limit")
        for kind in ("requests", "limits"):
            for name, amount in resources.get(kind, {}).items():
                if not QUANTITY.match(str(amount)):
                    problems.add(where, f"{kind}.{name}: bad quantity {amount}")

    for where, app in by_kind.get("Pod", []):
        spec = app["spec"]
        app_volumes = {v["name"]: v for v in spec.get("volumes", [])}
        shares = any(
            m["mountPath"] == socket.rpartition("/")[0]
            and app_volumes.get(m["name"], {}).get("hostPath", {}).get("path")
            == socket.rpartition("/")[0]
            for c in spec["containers"] for m in c.get("volumeMounts", []))
        if not shares:
            problems.add(where, f"does not mount the node's {socket}")
        groups = spec.get("securityContext", {}).get("supplementalGroups", [])
        if group and (not group.isdigit() or int(group) not in groups):
            problems.add(where, f"not in the sockets' group {group} (by number)")
        for c in spec["containers"]:
            if c["command"][0] not in package_files:
                problems.add(where, f"{c['command'][0]} is not in the package")
    return conf


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--package-files", required=True,
                        help="installed paths, one per line")
    parser.add_argument("--version", required=True,
                        help="the package version the image must carry")
    parser.add_argument("--config-out", required=True,
                        help="where to write the ConfigMap's ferryd.conf")
    parser.add_argument("manifests", nargs="+")
    args = parser.parse_args()
    package_files = {line.strip() for line in open(args.package_files)}
    problems = Problems()
    docs = []
    for path in args.manifests:
        for i, doc in enumerate(yaml.safe_load_all(open(path))):
            if doc is None:
                continue
            where = f"{path}#{i}"
            model = MODELS.get((doc.get("apiVersion"), doc.get("kind")))
            if model is None:
                problems.add(where, f"unknown kind {doc.get('apiVersion')} "
                             f"{doc.get('kind')}")
                continue
            check_schema(doc, model, where, problems)
            check_required(doc, model, where, problems)
            docs.append((where, doc))
    # The checks against the package read fields the schema requires: only
    # on manifests that passed it.
    conf = None
    if not problems.items:
        conf = check_ferry(docs, package_files, args.version, problems)
    if conf is not None:
        with open(args.config_out, "w") as out:
            out.write(conf)
    for item in problems.items:
        print(f"manifests: {item}", file=sys.stderr)
    print(f"manifests: {len(docs)} objects, {len(problems.items)} problems")
    return 1 if problems.items else 0


if __name__ == "__main__":
    sys.exit(main())
