"""Which packages the wheel ships, and where (the rest of the metadata is in pyproject.toml).

One top-level package, `caviar`: the public client and plugin API, with the server's top-level folders
`app/` and `workers/` inside it as `caviar/_server/app` and `caviar/_server/workers`, so that installing
Caviar never puts a package named `app` into site-packages (see docs/architecture.md).
"""

from setuptools import find_packages, setup

SERVER_FOLDERS = ("app", "workers")

server_packages = [
    f"caviar._server.{package}"
    for package in find_packages(include=[f"{folder}*" for folder in SERVER_FOLDERS])
]
setup(
    packages=find_packages(include=["caviar", "caviar.*"]) + server_packages,
    package_dir={f"caviar._server.{folder}": folder for folder in SERVER_FOLDERS},
)
