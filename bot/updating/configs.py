"""Each repository's configuration and template overrides, read from its default branch and remembered.

The file is read through the contents API on every update (a conditional request: 304 while unchanged),
parsed once per revision, and an invalid revision is explained in one comment on the issues it names.
"""

from __future__ import annotations

import logging

import cachetools
from gidgethub import BadRequest

from bot.config import CONFIG_PATH, ConfigError, RepoConfig, issues_named_in, parse_config
from bot.github.repository import RepoFile, Repository
from bot.tracking.render import BUILT_IN, TEMPLATE_NAMES, Templates, render

log = logging.getLogger(__name__)


class RepositoryConfigs:
    """Parsed configurations per blob revision, and the template overrides they point to."""

    def __init__(self) -> None:
        self._configs: cachetools.LRUCache[tuple[str, str], RepoConfig] = cachetools.LRUCache(1024)
        self._reported_config_errors: cachetools.LRUCache[tuple[str, str], bool] = cachetools.LRUCache(1024)
        # The repository's template overrides, loaded with its configuration (see load).
        self._templates: cachetools.LRUCache[str, tuple[Templates, dict[str, str]]] = cachetools.LRUCache(
            1024
        )

    async def load(self, repo: Repository) -> RepoConfig | None:
        """The repository's configuration, or None when it has none or it is invalid."""
        file = await repo.read_file(CONFIG_PATH)
        if file is None:
            log.debug("%s: no %s; nothing to track", repo.full_name, CONFIG_PATH)
            return None
        key = (repo.full_name, file.sha)
        config = self._configs.get(key)
        if config is None:
            try:
                config = parse_config(file.content)
            except ConfigError as error:
                log.warning("%s: invalid %s: %s", repo.full_name, CONFIG_PATH, error)
                await self._report_config_error(repo, file, error)
                return None
            self._configs[key] = config
        await self._load_templates(repo, config)
        return config

    async def _load_templates(self, repo: Repository, config: RepoConfig) -> None:
        """The overrides in the configured template folder: files named like a built-in template."""
        if config.templates is None:
            self._templates.pop(repo.full_name, None)
            return
        overrides: dict[str, str] = {}
        revisions: dict[str, str] = {}
        for name in await repo.file_names(config.templates):
            if name in TEMPLATE_NAMES and (file := await repo.read_file(f"{config.templates}/{name}")):
                overrides[name] = file.content.decode("utf-8", errors="replace")
                revisions[name] = file.sha
        known = self._templates.get(repo.full_name)
        if known is None or known[1] != revisions:  # a Templates remembers which overrides hit a limit
            self._templates[repo.full_name] = (Templates(overrides), revisions)

    def forget(self, repository: str) -> None:
        """The App lost access to the repository: what it read there is not kept."""
        name = repository.lower()
        for cache in (self._configs, self._reported_config_errors):
            for key in [key for key in list(cache) if key[0].lower() == name]:
                cache.pop(key, None)
        for folder_of in [repo for repo in list(self._templates) if repo.lower() == name]:
            self._templates.pop(folder_of, None)

    def templates(self, repo: Repository) -> Templates:
        return self._templates.get(repo.full_name, (BUILT_IN, {}))[0]

    async def report_template_problems(self, repo: Repository, number: int) -> None:
        """One comment per broken revision of an override: the built-in template was used instead."""
        templates, revisions = self._templates.get(repo.full_name, (BUILT_IN, {}))
        for name, problem in list(templates.problems.items()):
            marker = f"<!-- issue-status-bot:template-error {name} {revisions.get(name, '')} -->"
            if not await repo.said(number, marker):
                comment = render("template_error_comment.md.j2", name=name, problem=problem, marker=marker)
                await repo.post_comment(number, comment)
            del templates.problems[name]

    async def _report_config_error(self, repo: Repository, file: RepoFile, error: ConfigError) -> None:
        """One comment per revision of the file, on each tracking issue the file seems to name."""
        key = (repo.full_name, file.sha)
        if key in self._reported_config_errors:
            return
        marker = f"<!-- issue-status-bot:config-error {file.sha} -->"
        body = render(
            "config_error_comment.md.j2",
            path=CONFIG_PATH,
            revision=file.sha,
            problems=str(error),
            marker=marker,
        )
        for number in issues_named_in(file.content):
            try:
                if not any(marker in existing for existing in await repo.comment_bodies(number)):
                    await repo.post_comment(number, body)
            except BadRequest as exc:
                log.warning("%s#%s: cannot comment on the config error: %s", repo.full_name, number, exc)
        self._reported_config_errors[key] = True
