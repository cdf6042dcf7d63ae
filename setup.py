"""The wheel carries the built widget: setuptools' ``build_py`` runs the widget build (esbuild via npm, skipped when
``static/dist`` is already up to date with the sources, e.g. in an sdist) and copies the current build and the themes
into the package as ``widget_server/_static/{static/dist,themes}``, where ``widget/build.py`` finds them when there is
no checkout. The generated files stay out of git. Everything else is in ``pyproject.toml``."""

import importlib.util
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildPyWithWidget(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads static/ and themes/ from the checkout
            return
        # build.py needs only the standard library, msgspec and brotli (build-system.requires): load it by path so
        # the package's own dependencies need not be installed in the build environment
        spec = importlib.util.spec_from_file_location("_widget_build", HERE / "widget_server" / "widget" / "build.py")
        build = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = build  # (msgspec resolves the Structs' annotations through the module)
        spec.loader.exec_module(build)
        try:
            manifest = build.build()
        except build.BuildError as exc:
            raise SystemExit(f"the widget could not be built for the wheel: {exc}") from exc
        target = Path(self.build_lib) / "widget_server" / "_static"
        shutil.rmtree(target, ignore_errors=True)
        dist = target / "static" / "dist"
        dist.mkdir(parents=True)
        for built in manifest.files.values():  # the current build only, with its precompressed siblings
            for name in (built.file, f"{built.file}.gz", f"{built.file}.br"):
                shutil.copy2(build.DIST_DIR / name, dist / name)
        manifest.previous = []
        (dist / build.MANIFEST).write_bytes(build.msgspec.json.encode(manifest))
        shutil.copytree(build.THEMES_DIR, target / "themes")


setup(cmdclass={"build_py": BuildPyWithWidget})
