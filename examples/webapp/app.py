"""strata's bundled example: run `python app.py [--name NAME]` with the locked packages installed.

It serves one request in-process through httpx.MockTransport (no network) and prints the
reply with rich, so it proves httpx, click and rich (and their dependencies) import and work.
"""

from importlib.metadata import version

import click
import httpx
from rich.console import Console
from rich.table import Table


def _handler(request: httpx.Request) -> httpx.Response:
    name = request.url.params.get("name", "world")
    return httpx.Response(200, json={"greeting": f"hello, {name}", "path": request.url.path})


@click.command()
@click.option("--name", default="strata", help="Who to greet.")
def main(name: str) -> None:
    """Send one request to an in-process HTTP handler and print the answer as a table."""
    with httpx.Client(transport=httpx.MockTransport(_handler), base_url="http://example") as client:
        reply = client.get("/hello", params={"name": name})
    table = Table(title=f"HTTP {reply.status_code}")
    table.add_column("key")
    table.add_column("value")
    for key, value in reply.json().items():
        table.add_row(key, str(value))
    Console().print(table)
    used = ", ".join(f"{dist} {version(dist)}" for dist in ("httpx", "click", "rich"))
    Console().print(f"{used}: ok")


if __name__ == "__main__":
    main()
