"""A shell end-to-end test that drives real ferryd processes."""

def ferryd_sh_test(name, exclusive = True, extra_tags = [], data = [],
                   extra_args = [], src = None, size = "medium"):
    """`name`.sh (or `src`), given the path of ferryd as its argument.

    Tagged "local": these tests need root facilities that Bazel's sandbox
    hides (ip netns, DPDK's runtime directory). "exclusive" (the default)
    keeps tests that time or load the machine from sharing its two cores.
    """
    native.sh_test(
        name = name,
        size = size,
        srcs = [src or name + ".sh"],
        args = ["$(location //controlplane:ferryd)"] + extra_args,
        data = data + [
            "//controlplane:ferryd",
            "//deploy/testbed:ferryd_test_lib",
        ],
        tags = ["local"] + (["exclusive"] if exclusive else []) + extra_tags,
    )
