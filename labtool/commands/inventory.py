"""labtool inventory: the Ansible inventory the playbooks get, as YAML."""

from __future__ import annotations

import click

from labtool.commands import _common as c


@click.command("inventory")
@c.file_option
@c.name_option
@c.lab_option
def command(file, name, lab_names) -> None:
    """Print the lab's Ansible inventory (YAML), as the playbooks get it:
    ansible-playbook -i <(labtool inventory -f lab.yml) playbooks/up.yml

    For a class file: with one --lab, that lab's inventory (the one its run uses);
    otherwise the class inventory, a group per lab, which reaches every machine but
    is not for the playbooks (they run one lab per inventory; see README)."""
    from labtool import _paths, access
    from labtool.inventory import build_class_inventory, build_inventory, render_inventory

    def one(lab):  # as its runs get it: the nodes that took the lab's key reached by it
        state = _paths.state_dir(lab.state_name)
        return build_inventory(lab, state, access.keyed_nodes(lab, state))

    lab = c.load_any(file, name, lab_names)
    if not c.is_class(lab):
        inventory = one(lab)
    elif lab_names and len(lab.labs) == 1:
        inventory = one(lab.labs[0])
    else:
        inventory = build_class_inventory(lab)
    click.echo(render_inventory(inventory), nl=False)
