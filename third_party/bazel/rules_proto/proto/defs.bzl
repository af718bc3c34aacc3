"""Re-exports the native proto rules so that @rules_proto loads work offline."""

proto_library = native.proto_library
proto_lang_toolchain = native.proto_lang_toolchain
