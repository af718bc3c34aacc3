"""A repository rule that turns Debian's pkg-config modules into Bazel targets.

Flags are read from `pkg-config` at fetch time, never hard-coded, so the build
follows whatever version of a library Debian installed. The generated
repository holds:
  //:lib       a cc_library whose linkopts are `pkg-config --libs MODULES`;
  //:defs.bzl  COPTS, the `pkg-config --cflags MODULES` list, for the few
               packages that compile against the library's headers (cflags do
               not propagate through cc_library deps in Bazel 4).
"""

def _split(flags):
    return [f for f in flags.strip().split(" ") if f]

def _pkg_config(ctx, args):
    result = ctx.execute(["pkg-config"] + args + ctx.attr.modules)
    if result.return_code != 0:
        fail("pkg-config %s %s failed (run deploy/install-deps.sh): %s" %
             (" ".join(args), " ".join(ctx.attr.modules), result.stderr))
    return _split(result.stdout)

def _usable_cflag(flag):
    # Bazel refuses -I paths outside its builtin include directories. DPDK's
    # .pc lists /usr/lib/.../dbus-1.0/include for one PMD's private headers,
    # which no public DPDK header needs.
    return not flag.startswith("-I") or flag.startswith("-I/usr/include")

def _pkg_config_repository_impl(ctx):
    cflags = [f for f in _pkg_config(ctx, ["--cflags"]) if _usable_cflag(f)]
    libs = _pkg_config(ctx, ["--libs"]) + ctx.attr.extra_linkopts
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.file("defs.bzl", "COPTS = %s\n" % repr(cflags))
    ctx.file("BUILD.bazel", """package(default_visibility = ["//visibility:public"])

exports_files(["defs.bzl"])

cc_library(
    name = "lib",
    linkopts = {libs},
)
""".format(libs = repr(libs)))

pkg_config_repository = repository_rule(
    implementation = _pkg_config_repository_impl,
    attrs = {
        "modules": attr.string_list(mandatory = True),
        "extra_linkopts": attr.string_list(default = []),
    },
    configure = True,
    local = True,
)
