"""Who sees a post: the rules in one place, used for lists, reads and every action on a post.

A post is seen by its owner (and whoever acts for the owner), and otherwise only while it is
open or matched, not under review, not by a person blocked either way, and within its scope:
the tenant (everyone), one neighbourhood (its residents, and people who help: volunteers,
brokers, professionals), or a group (its active members). Whoever does not see a post gets
404 for it, whatever the endpoint, so ids of closed-group posts cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from marketplace.domain.posts import Post, PostStatus, Scope

#: Roles whose holders help in any neighbourhood (and see neighbourhood-scoped posts).
HELPER_ROLES = frozenset({"volunteer", "broker", "professional"})


@dataclass(frozen=True)
class Viewer:
    person_id: str | None
    neighbourhood_code: str | None = None
    #: Groups the person is an active member (or moderator) of.
    groups: frozenset[str] = frozenset()
    #: Persons this person blocked or was blocked by.
    blocked: frozenset[str] = frozenset()
    helper: bool = False
    #: Organisations in which the person may act for the organisation's posts.
    staff_of: frozenset[str] = frozenset()
    #: Matches the person takes part in, by post id (a participant keeps seeing the post).
    participates_in: frozenset[str] = field(default_factory=frozenset)


def owns(post: Post, viewer: Viewer) -> bool:
    """The viewer may change the post: its owner, or staff of the posting organisation."""
    if viewer.person_id is not None and post.owner_id == viewer.person_id:
        return True
    return post.owner_id is None and post.organisation in viewer.staff_of


def scope_allows(
    scope: Scope, group_id: str | None, neighbourhood_code: str, viewer: Viewer
) -> bool:
    if scope is Scope.GROUP:
        return group_id in viewer.groups
    if scope is Scope.NEIGHBOURHOOD:
        return viewer.helper or viewer.neighbourhood_code == neighbourhood_code
    return True


def in_scope(post: Post, viewer: Viewer) -> bool:
    return scope_allows(post.scope, post.group_id, post.neighbourhood_code, viewer)


def visible(post: Post, viewer: Viewer) -> bool:
    if owns(post, viewer):
        return True
    if viewer.person_id is None or post.under_review:
        return False
    if post.owner_id is not None and post.owner_id in viewer.blocked:
        return False
    if not in_scope(post, viewer):
        return False
    if post.status is PostStatus.OPEN:
        return True
    return post.id in viewer.participates_in


def listed(post: Post, viewer: Viewer) -> bool:
    """Shown in the market's lists: open posts others can see (own posts have their own list)."""
    return post.status is PostStatus.OPEN and not owns(post, viewer) and visible(post, viewer)
