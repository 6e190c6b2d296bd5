"""Forgetting a person: their profile, memberships and everything they wrote leave every store.

What others need to keep (a help request someone helped with, an audit line) loses the
person's id; what is theirs alone (their requests, offers, answers, relayed messages,
announcements) is deleted. Each touched store is then compacted, so no file keeps their bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, update
from sqlmodel import col, or_, select

from bot.activities import RSVP_STEP
from bot.neighbour_help import help_ref
from storage.models import (
    Announcement,
    AppliedStep,
    AuditEntry,
    Conversation,
    Event,
    EventPosting,
    EventStatus,
    GroupJoinRequest,
    HelpOffer,
    HelpPosting,
    HelpRequest,
    Invite,
    LinkedGroup,
    MemberPreference,
    Membership,
    OutboxKind,
    OutboxMessage,
    Person,
    RelayMessage,
    Rsvp,
    ScheduledJob,
)

if TYPE_CHECKING:
    from bot.application.village import Village

HELP_JOBS = ("help_escalate", "help_follow_up", "help_expire")


async def forget(village: Village, person: Person) -> None:
    stores = village.stores
    person_id = person.id
    for view in await stores.directory.memberships_of(person_id):
        async with stores.network(view.network.slug) as store:
            async with store.transaction() as session:
                theirs = (await session.exec(select(HelpRequest.id).where(HelpRequest.requester_id == person_id))).all()
                refs = [str(request_id) for request_id in theirs]
                await session.exec(
                    delete(ScheduledJob).where(col(ScheduledJob.kind).in_(HELP_JOBS), col(ScheduledJob.ref).in_(refs))
                )
                await session.exec(delete(HelpRequest).where(col(HelpRequest.requester_id) == person_id))
                await session.exec(  # the copies of their requests the outbox holds for helpers
                    delete(OutboxMessage).where(
                        col(OutboxMessage.kind) == OutboxKind.HELP_REQUEST,
                        col(OutboxMessage.ref).in_([help_ref(request_id) for request_id in theirs if request_id]),
                    )
                )
                await session.exec(
                    update(HelpRequest).where(col(HelpRequest.helper_id) == person_id).values(helper_id=None)
                )
                await session.exec(
                    update(HelpRequest).where(col(HelpRequest.entered_by) == person_id).values(entered_by=None)
                )
                await session.exec(
                    update(HelpRequest).where(col(HelpRequest.followed_up_by) == person_id).values(followed_up_by=None)
                )
                await session.exec(
                    delete(RelayMessage).where(
                        or_(col(RelayMessage.from_id) == person_id, col(RelayMessage.to_id) == person_id)
                    )
                )
                await session.exec(delete(HelpOffer).where(col(HelpOffer.person_id) == person_id))
                await session.exec(delete(Rsvp).where(col(Rsvp.person_id) == person_id))
                await session.exec(delete(MemberPreference).where(col(MemberPreference.person_id) == person_id))
                await session.exec(  # a place they were given on a waiting list names them
                    delete(AppliedStep).where(
                        col(AppliedStep.kind) == RSVP_STEP, col(AppliedStep.ref) == str(person_id)
                    )
                )
                await session.exec(
                    update(Event)
                    .where(col(Event.created_by) == person_id)
                    .values(created_by=0, status=EventStatus.CANCELLED)
                )
                await session.exec(delete(Announcement).where(col(Announcement.author_id) == person_id))
                await session.exec(delete(OutboxMessage).where(col(OutboxMessage.chat_id) == person_id))
                await session.exec(delete(HelpPosting).where(col(HelpPosting.chat_id) == person_id))
                await session.exec(delete(EventPosting).where(col(EventPosting.chat_id) == person_id))
                await session.exec(
                    update(AuditEntry).where(col(AuditEntry.actor_id) == person_id).values(actor_id=None)
                )
                await session.exec(
                    update(AuditEntry).where(col(AuditEntry.subject_id) == person_id).values(subject_id=None)
                )
            await store.compact()
    # Contact requests: the copies told to buurtverbinders lose what they said of the resident,
    # then the requests go (and they lose the name of someone who took one up).
    for asked in await village.contacts.of_resident(person_id):
        await village.contact_messages.withdraw(asked, village.clock.now())
    await village.contacts.forget(person_id)
    directory = stores.directory
    async with directory.transaction() as session:
        await session.exec(delete(Conversation).where(col(Conversation.person_id) == person_id))
        await session.exec(delete(GroupJoinRequest).where(col(GroupJoinRequest.person_id) == person_id))
        await session.exec(update(Invite).where(col(Invite.created_by) == person_id).values(created_by=None))
        await session.exec(update(Membership).where(col(Membership.decided_by) == person_id).values(decided_by=None))
        await session.exec(update(LinkedGroup).where(col(LinkedGroup.linked_by) == person_id).values(linked_by=0))
        await session.exec(delete(Person).where(col(Person.id) == person_id))  # memberships go with it
    await directory.compact()


async def leave_no_trace(village: Village, person_id: int) -> None:
    """After the forgotten person was told: what their kept updates said goes too (the one that
    asked to forget them included, which a crash before this point would have handled again),
    and the directory is compacted so no page of the file still holds it."""
    await village.stores.directory.drop_kept_updates_of(person_id)
    await village.stores.directory.compact()
