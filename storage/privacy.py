"""What the stores hold of one person: read for their "my data" file, removed when they are forgotten.

Forgetting deletes what is theirs alone (their help requests with their jobs and the copies the
outbox holds for helpers, offers, answers, preferences, relayed messages, announcements, messages
queued for them, their conversations) and takes their id off what others need to keep (a request
they helped with, an activity they made, an audit line, an invite, a decision, a linked group).
Each store is compacted afterwards, so no page of its file, nor of its write-ahead log, keeps them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlmodel import col, or_, select

from storage.directory import DirectoryStore
from storage.help import help_ref
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
from storage.stores import Stores


@dataclass(frozen=True)
class KeptInNetwork:
    """What one network's store holds of a person: requests they asked or helped with, their
    offer, their answers to activities (with the activity), messages they sent or received."""

    help_requests: list[HelpRequest]
    offer: HelpOffer | None
    answers: list[tuple[Rsvp, Event]]
    relayed: list[RelayMessage]


class PrivacyRows:
    """One person's rows in the directory and in every network's store (named by its slug)."""

    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    @property
    def _directory(self) -> DirectoryStore:
        return self._stores.directory

    async def kept_in(self, slug: str, person_id: int) -> KeptInNetwork:
        async with self._stores.network(slug) as store, store.transaction() as session:
            asked_or_helped = or_(HelpRequest.requester_id == person_id, HelpRequest.helper_id == person_id)
            requests = await session.exec(select(HelpRequest).where(asked_or_helped))
            offer = await session.get(HelpOffer, person_id)
            answers = await session.exec(
                select(Rsvp, Event).join(Event, col(Event.id) == col(Rsvp.event_id)).where(Rsvp.person_id == person_id)
            )
            relayed = await session.exec(
                select(RelayMessage).where(or_(RelayMessage.from_id == person_id, RelayMessage.to_id == person_id))
            )
            return KeptInNetwork(list(requests.all()), offer, list(answers.all()), list(relayed.all()))

    async def forget_in_network(
        self, slug: str, person_id: int, *, request_jobs: Collection[str], waiting_list_step: str
    ) -> None:
        """Removes the person from one network's store, in one transaction, then compacts it.
        `request_jobs` are the kinds of job kept for a help request (their ref is its id);
        `waiting_list_step` the kind of step that gave someone a place off a waiting list (its ref
        is their id)."""
        async with self._stores.network(slug) as store:
            async with store.transaction() as session:
                theirs = (await session.exec(select(HelpRequest.id).where(HelpRequest.requester_id == person_id))).all()
                ids = [request_id for request_id in theirs if request_id is not None]
                await session.exec(
                    delete(ScheduledJob).where(
                        col(ScheduledJob.kind).in_(request_jobs), col(ScheduledJob.ref).in_([str(i) for i in ids])
                    )
                )
                await session.exec(delete(HelpRequest).where(col(HelpRequest.requester_id) == person_id))
                await session.exec(  # the copies of their requests the outbox holds for helpers
                    delete(OutboxMessage).where(
                        col(OutboxMessage.kind) == OutboxKind.HELP_REQUEST,
                        col(OutboxMessage.ref).in_([help_ref(request_id) for request_id in ids]),
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
                        col(AppliedStep.kind) == waiting_list_step, col(AppliedStep.ref) == str(person_id)
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

    async def forget_in_directory(self, person_id: int) -> None:
        """Removes the person (their memberships go with them) and their conversations from the
        directory, and their id from what others keep there; then compacts it. Through the
        directory's session, so its read cache (storage/known.py) forgets them too."""
        async with self._directory.transaction() as session:
            await session.exec(delete(Conversation).where(col(Conversation.person_id) == person_id))
            await session.exec(delete(GroupJoinRequest).where(col(GroupJoinRequest.person_id) == person_id))
            await session.exec(update(Invite).where(col(Invite.created_by) == person_id).values(created_by=None))
            await session.exec(
                update(Membership).where(col(Membership.decided_by) == person_id).values(decided_by=None)
            )
            await session.exec(update(LinkedGroup).where(col(LinkedGroup.linked_by) == person_id).values(linked_by=0))
            await session.exec(delete(Person).where(col(Person.id) == person_id))  # memberships go with it
        await self._directory.compact()

    async def clear_kept_updates(self, person_id: int) -> None:
        """What the person's kept updates say (their name, what they typed) goes, handled or not,
        and the directory is compacted so no page of its file still holds it."""
        await self._directory.drop_kept_updates_of(person_id)
        await self._directory.compact()
