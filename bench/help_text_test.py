"""Every flag of the bench commands says what it does in --help: the
orchestrator's and the agent's (argparse) and msg_gen's (absl), each flag a
sentence of its own. And the Python commands start under /usr/bin/python3
whatever python3 is first on PATH.

  help_text_test.py MSG_GEN
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import orchestrator  # noqa: E402
from bench.agent import bench_agent  # noqa: E402

failures = []


def check_parser(name, parser):
    flags = 0
    for action in parser._actions:
        if "-h" in action.option_strings:
            continue
        flags += 1
        text = (action.help or "").strip()
        if len(text.split()) < 4:
            failures.append(f"{name} {action.option_strings[0]}: no sentence "
                            f"({text!r})")
    print(f"{name}: {flags} flags, each with help")
    return flags


def check_msg_gen(path):
    out = subprocess.run([path, "--help"], capture_output=True, text=True)
    text = out.stdout + out.stderr
    # absl prints "--name (help); default: value;" per flag of msg_gen_main.
    section = text.split("Flags from bench/msg_gen/msg_gen_main.cc:", 1)
    if len(section) != 2:
        failures.append("msg_gen --help: no section of its own flags")
        return
    body = section[1].split("Try --helpfull", 1)[0]
    # One chunk per flag: its lines start at "    --name (".
    entries = []
    for chunk in re.split(r"\n\s+--(?=\w+ \()", "\n" + body)[1:]:
        name, rest = chunk.split(" ", 1)
        entries.append((name, rest[1:rest.rfind("); default:")]))
    if len(entries) < 10:
        failures.append(f"msg_gen --help: only {len(entries)} flags read")
    for name, help_text in entries:
        if len(help_text.split()) < 2:
            failures.append(f"msg_gen --{name}: no help ({help_text!r})")
    print(f"msg_gen: {len(entries)} flags, each with help")


def check_shebang(path):
    with open(path) as f:
        first = f.readline().strip()
    if first != "#!/usr/bin/python3":
        failures.append(f"{path}: starts with {first!r}, not /usr/bin/python3")


def check_runs_without_path_python(path):
    # A PATH whose python3 is not Debian's (here: none at all) must not
    # matter: the script runs through its shebang.
    out = subprocess.run([path, "--help"], capture_output=True, text=True,
                         env={"PATH": "/nonexistent"})
    if out.returncode != 0 or "--" not in out.stdout:
        failures.append(f"{path} --help with no python3 on PATH: "
                        f"{out.returncode} {out.stderr[-300:]}")


def main():
    assert check_parser("orchestrator", orchestrator.build_parser()) >= 15
    assert check_parser("bench_agent", bench_agent.build_parser()) >= 8
    check_msg_gen(sys.argv[1])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for script in ("bench/orchestrator.py", "bench/agent/bench_agent.py"):
        path = os.path.join(root, script)
        check_shebang(path)
        check_runs_without_path_python(path)
    if failures:
        sys.exit("FAIL:\n  " + "\n  ".join(failures))
    print("PASS: every bench flag has help; the Python commands run under "
          "/usr/bin/python3")


if __name__ == "__main__":
    main()
