{
  "targets": [
    {
      "target_name": "isal_deflate",
      "sources": ["src/isal_deflate.c"],
      "cflags": ["-O2", "-std=c11", "-Wall", "-Wextra"],
      "libraries": ["-lisal"]
    }
  ]
}
