# Built by hack/build-dataplane.sh with --nodedir pointing at the installed Node headers (no download).
# Kept out of the package root on purpose: npm would otherwise run node-gyp on every `npm install`.
{
  "targets": [
    {
      "target_name": "plb_bpf",
      "sources": ["module.cc", "object.cc", "attach.cc", "maps.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "libraries": ["-lbpf"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Werror=return-type"],
      "cflags_cc!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"]
    }
  ]
}
