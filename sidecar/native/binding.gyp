# Build description for the SO_ORIGINAL_DST addon (plain N-API, no npm dependencies).
{
  "targets": [
    {
      "target_name": "original_dst",
      "sources": ["original_dst.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
