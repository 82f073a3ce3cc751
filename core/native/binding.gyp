{
  "targets": [
    {
      "target_name": "gts_accept",
      "sources": ["src/gts_accept.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
