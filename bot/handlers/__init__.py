"""Where each webhook event enters: one module per concern, each with its own router, composed here."""

from gidgethub.routing import Router

from bot.handlers import commands, issues, pushes, results

router = Router(results.router, pushes.router, issues.router, commands.router)
