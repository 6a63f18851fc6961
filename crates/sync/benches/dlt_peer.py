"""The peer of the sync benchmark: dlt's `rest_api` source reading the same
fake vendor's pages into the same database.

Run by `cargo bench -p onepane-sync --bench sync` when `python3 -c "import
dlt"` works (`pip install "dlt[postgres,sqlalchemy]"`); by hand:

    python3 dlt_peer.py BASE_URL PAGE_SIZE DESTINATION WORKDIR

DESTINATION is `postgres://...` or `sqlite:///path/to/file.db`. The leads
are loaded with the `merge` disposition on their `id`, so that a second
load updates rather than duplicates, as a sync does. Prints one line of
JSON: dlt's version, the rows loaded and the seconds the pipeline took.
"""

import json
import os
import sys
import time


def main() -> None:
    base, page, destination, workdir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    # dlt keeps its pipeline state and load packages under these folders.
    os.environ["DLT_DATA_DIR"] = os.path.join(workdir, "data")
    os.environ["DLT_PIPELINE_DIR"] = os.path.join(workdir, "pipelines")
    os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"
    os.environ["DLT_TELEMETRY"] = "false"
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"

    import dlt
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source(
        {
            "client": {
                "base_url": base,
                "paginator": {
                    "type": "cursor",
                    "cursor_path": "next_cursor",
                    "cursor_param": "cursor",
                },
            },
            "resource_defaults": {
                "primary_key": "id",
                "write_disposition": "merge",
            },
            "resources": [
                {
                    "name": "leads",
                    "endpoint": {
                        "path": "leads",
                        "params": {"limit": page},
                        "data_selector": "data",
                    },
                }
            ],
        }
    )
    if destination.startswith("sqlite:"):
        dest = dlt.destinations.sqlalchemy(credentials=destination)
    else:
        dest = dlt.destinations.postgres(credentials=destination)
    pipeline = dlt.pipeline(
        pipeline_name="onepane_peer",
        destination=dest,
        dataset_name="dlt_peer",
    )
    started = time.monotonic()
    info = pipeline.run(source)
    seconds = time.monotonic() - started
    rows = pipeline.last_trace.last_normalize_info.row_counts.get("leads", 0)
    info.raise_on_failed_jobs()
    print(json.dumps({"version": dlt.__version__, "rows": rows, "seconds": seconds}))


if __name__ == "__main__":
    main()
