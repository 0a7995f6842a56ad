"""Example robot for Robot Runner: reads its params, prints, writes an artifact, exits as asked.

Params (RR_PARAMS / RR_PARAMS_FILE): {"name": "world", "lines": 3, "sleep_s": 0, "exit_code": 0}
"""
import json
import os
import sys
import time

with open(os.environ["RR_PARAMS_FILE"], encoding="utf-8") as f:
    params = json.load(f)

name = params.get("name", "world")
for i in range(int(params.get("lines", 3))):
    print(f"hello {name} ({i + 1})")
    time.sleep(float(params.get("sleep_s", 0)))
print("this goes to stderr", file=sys.stderr)

artifact = os.path.join(os.environ["RR_ARTIFACTS_DIR"], "greeting.txt")
with open(artifact, "w", encoding="utf-8") as f:
    f.write(f"Hello, {name}! (execution {os.environ['RR_EXECUTION_ID']})\n")

sys.exit(int(params.get("exit_code", 0)))
