"""`qmfa settings`: show and change the instance settings, as the operator ("shell")."""

from __future__ import annotations

import argparse
from typing import Any

from qmfa_tui.cli.common import command_parser, confirm, open_from_args, shell_actor, whole_number
from qmfa_tui.text import counted, visible


def add_command(commands: Any, common: argparse.ArgumentParser) -> None:
    settings = commands.add_parser(
        "settings",
        parents=[common],
        help="show and change instance settings",
        description="Show and change instance settings.",
    )
    group = settings.add_subparsers(metavar="COMMAND", required=True)
    show = command_parser(group, "show", common, "Show the instance settings", "qmfa settings show")
    show.set_defaults(handler=settings_show)
    mandatory = command_parser(
        group,
        "mandatory",
        common,
        "Switch Mandatory Two-step Authentication on or off",
        "qmfa settings mandatory on --yes",
    )
    mandatory.add_argument("state", choices=("on", "off"))
    mandatory.add_argument("--yes", action="store_true", help="do not ask to confirm")
    mandatory.set_defaults(handler=settings_mandatory)
    grace = command_parser(
        group,
        "grace-period",
        common,
        "Hours a user may put off registering once 2FA is mandatory (0: none)",
        "qmfa settings grace-period 48",
    )
    grace.add_argument("hours", type=_grace_hours, metavar="HOURS")
    grace.set_defaults(handler=settings_grace_period)
    name = command_parser(
        group,
        "name",
        common,
        "Name the instance: the title bar's and the issuer apps list new registrations under",
        'qmfa settings name "Acme prod"',
    )
    name.add_argument(
        "name", metavar="NAME", help="one to 60 characters, in quotes if it has spaces"
    )
    name.set_defaults(handler=settings_name)


def _grace_hours(text: str) -> int:
    from qmfa_tui.services.policy import MAX_GRACE_HOURS

    return whole_number(MAX_GRACE_HOURS, minimum=0)(text)


def settings_show(args: argparse.Namespace) -> int:
    opened = open_from_args(args)
    from qmfa_tui.services import policy

    info = policy.instance_info()
    print(f"database:     {opened.display_url}")
    print(f"key:          {opened.key_file or '$QMFA_SECRET_KEY'}")
    print(f"instance:     {visible(info.instance_name)}")
    print(f"deployment:   {info.deployment}")
    print(f"mandatory:    {'on' if info.mandatory else 'off'}")
    print(f"grace period: {counted(info.grace_period_hours, 'hour')}")
    print(f"without 2FA:  {counted(policy.count_affected(), 'active local user')}")
    if info.demo:
        print("demo:         yes")
    return 0


def settings_mandatory(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import policy

    enabled = args.state == "on"
    if enabled:
        affected = policy.count_affected()
        grace = policy.instance_info().grace_period_hours
        print(
            f"{counted(affected, 'active local user')} without two-step verification "
            + policy.mandatory_consequence(grace)
        )
        if not confirm("Make two-step verification mandatory?", args.yes):
            print("Nothing changed.")
            return 1
    info = policy.set_mandatory(shell_actor(), enabled)
    print(f"Mandatory Two-step Authentication is {'on' if info.mandatory else 'off'}.")
    return 0


def settings_grace_period(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import policy

    previous = policy.instance_info().grace_period_hours
    info = policy.set_grace_period(shell_actor(), args.hours)
    print(f"Grace period: {counted(info.grace_period_hours, 'hour')}.")
    if info.grace_period_hours < previous:
        print("People already told a deadline keep it.")
    return 0


def settings_name(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import policy

    info = policy.set_instance_name(shell_actor(), args.name)
    print(f"Instance name: {visible(info.instance_name)}.")
    print("New registrations list it as their issuer; devices already registered keep working.")
    return 0
