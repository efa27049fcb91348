"""Who may do what (decisions on the verified principal and domain objects, no I/O).

- Content is written by the owning organisation's `content_editor`s (the role alone: an
  `org_admin` or `professional` without it does not author). Drafts are theirs only;
  a published module is seen by everyone in the tenant (scope `tenant`) or by members of the
  owning organisation (scope `organisation`). Anyone else gets 404. A package is exported
  by a content editor (of any organisation of the tenant: to adapt a shared module) who may
  read the module; imported by one of the organisation it is imported into.
- A resident reads and changes their own enrolments and answers. A professional assigns
  homework on behalf of an organisation they work for, and sees a resident's progress only
  with the resident's `share_learning_progress` consent for that organisation (404 without),
  free-text answers only for steps the resident shares.
- Placement rules are the tenant's: `tenant_admin`s edit them, staff read them.
- Usage figures: `org_admin`s of the organisation and `analyst`s (aggregates only).
"""

from __future__ import annotations

from wijkkracht_common.auth import Principal

from learning_paths.domain.content import Content

EDITOR = "content_editor"
STAFF_ROLES = ("professional",)
FIGURES_ROLES = ("org_admin", "analyst")
RULE_EDITORS = ("tenant_admin",)
RULE_READERS = ("tenant_admin", "professional", "content_editor")


def editor_organisations(principal: Principal) -> list[str]:
    return principal.organisations_with(EDITOR)


def is_editor(principal: Principal) -> bool:
    return bool(editor_organisations(principal))


def may_edit(principal: Principal, content: Content) -> bool:
    return EDITOR in principal.roles_in(content.organisation)


def may_read_published(principal: Principal, content: Content) -> bool:
    if not content.is_published:
        return False
    return content.scope == "tenant" or content.organisation in principal.orgs


def may_read(principal: Principal, content: Content) -> bool:
    return may_edit(principal, content) or may_read_published(principal, content)


def visibility_keys(principal: Principal) -> list[str]:
    """The catalogue keys a principal sees published content under."""
    return ["tenant", *(f"org:{o}" for o in sorted(principal.orgs))]


def is_staff_of(principal: Principal, organisation: str) -> bool:
    return bool(principal.roles_in(organisation).intersection(STAFF_ROLES))


def may_see_figures(principal: Principal, organisation: str | None) -> bool:
    if principal.has_role("analyst"):
        return True
    return organisation is not None and "org_admin" in principal.roles_in(organisation)
