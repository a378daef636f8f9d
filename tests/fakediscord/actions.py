"""What people do in the emulated Discord, scripted by tests: slash and message commands,
button clicks, reactions, messages; and the bot joining or leaving a guild."""

from __future__ import annotations

import secrets

from tests.fakediscord.gateway import Gateway
from tests.fakediscord.protocol import CommandType, InteractionType, OptionType
from tests.fakediscord.state import (
    Attachment,
    Channel,
    Guild,
    Interaction,
    Member,
    Message,
    Role,
    User,
    snowflake,
)


class Actions(Gateway):
    def _find_command(self, guild: Guild, name: str, kind: int) -> dict:
        for command in self.commands_for(guild):
            if command["name"] == name and command.get("type", CommandType.CHAT_INPUT) == kind:
                return command
        names = [c["name"] for c in self.commands_for(guild)]
        raise LookupError(f"no command {name!r} synced for this guild (synced: {names})")

    def _allowed(self, member: Member, channel: Channel, command: dict) -> bool:
        needed = command.get("default_member_permissions")
        if needed is None or not self.rules.enforce_default_permissions:
            return True
        opened = self.command_roles.get((member.guild.id, command["name"]), set())
        if opened & set(member.role_ids):  # an admin allowed the role in Integrations
            return True
        return member.permissions_in(channel) & int(needed) == int(needed)

    def _upload(self, channel: Channel, attachment: Attachment) -> dict:
        attachment_id = snowflake()
        path = f"{channel.id}/{attachment_id}/{attachment.filename}"
        self.files[path] = attachment.data
        size = (
            attachment.declared_size
            if attachment.declared_size is not None
            else len(attachment.data)
        )
        url = f"{self.cdn_url}/{path}"
        return {
            "id": str(attachment_id),
            "filename": attachment.filename,
            "size": size,
            "url": url,
            "proxy_url": url,
            "content_type": attachment.guessed_type(),
        }

    def _options(self, command: dict, channel: Channel, values: dict, resolved: dict) -> list:
        specs = {o["name"]: o for o in command.get("options", [])}
        options = []
        for name, value in values.items():
            if name not in specs:
                raise LookupError(f"command {command['name']!r} has no option {name!r}")
            spec = specs[name]
            if isinstance(value, Attachment):
                data = self._upload(channel, value)
                resolved.setdefault("attachments", {})[data["id"]] = data
                options.append({"name": name, "type": OptionType.ATTACHMENT, "value": data["id"]})
            elif isinstance(value, Role):
                resolved.setdefault("roles", {})[str(value.id)] = value.to_json()
                options.append({"name": name, "type": OptionType.ROLE, "value": str(value.id)})
            elif isinstance(value, Member):  # a member option: the user and member resolved
                member = value.to_json()
                resolved.setdefault("users", {})[str(value.id)] = member.pop("user")
                resolved.setdefault("members", {})[str(value.id)] = member
                options.append({"name": name, "type": OptionType.USER, "value": str(value.id)})
            else:
                options.append({"name": name, "type": spec["type"], "value": value})
        missing = [
            o["name"]
            for o in specs.values()
            if o.get("required")
            and o["name"] not in values
            and o["type"] not in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP)
        ]
        if missing:
            raise LookupError(f"required options missing: {missing}")
        return options

    def _interaction_base(self, kind: int, member: Member, channel: Channel) -> dict:
        interaction_id = snowflake()
        return {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "token": f"itok-{interaction_id}-{secrets.token_urlsafe(24)}",
            "version": 1,
            "guild_id": str(channel.guild_id) if channel.guild_id else None,
            "channel_id": str(channel.id),
            "channel": channel.to_json(),
            "member": member.to_json(channel),
            "locale": member.user.locale,
            "guild_locale": member.guild.preferred_locale,
            "app_permissions": str(self.bot_member(member.guild).permissions_in(channel)),
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(channel.guild_id)},
            "context": 0,
            "attachment_size_limit": self.rules.attachment_limit,
        }

    async def _create_interaction(
        self, payload: dict, member: Member, channel: Channel, name: str, refused: str | None = None
    ) -> Interaction:
        interaction = Interaction(
            int(payload["id"]),
            payload["token"],
            payload["type"],
            member,
            channel,
            name,
            payload,
            refused=refused,
        )
        self.interactions[interaction.id] = interaction
        self._by_token[interaction.token] = interaction
        self.record("interaction", id=interaction.id, name=name, user=member.id, refused=refused)
        if refused is None:
            await self.dispatch("INTERACTION_CREATE", payload, channel.guild_id)
        return interaction

    async def autocomplete(
        self, member: Member, command: str, channel: Channel, option: str, typed: str
    ) -> Interaction:
        """Discord asks the bot for choices as the member types: the focused option's
        partial value always comes as a string, and only an option the command marked
        `autocomplete` is ever asked about."""
        interaction = await self.invoke(
            member,
            command,
            channel,
            {option: typed},
            kind=InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE,
        )
        return interaction

    async def invoke(
        self,
        member: Member,
        command: str,
        channel: Channel,
        values: dict,
        kind: int = InteractionType.APPLICATION_COMMAND,
    ) -> Interaction:
        top, *sub = command.split()
        spec = self._find_command(member.guild, top, CommandType.CHAT_INPUT)
        payload = self._interaction_base(kind, member, channel)
        resolved: dict = {}
        target = spec
        chain = []
        for part in sub:
            target = next((o for o in target.get("options", []) if o["name"] == part), None)
            if target is None:
                raise LookupError(f"command {command!r} does not exist")
            chain.append(target)
        if kind == InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE:
            [(name, typed)] = values.items()
            spec_of = {o["name"]: o for o in target.get("options", [])}
            if not spec_of.get(name, {}).get("autocomplete"):
                raise LookupError(f"option {name!r} of {command!r} offers no autocomplete")
            options = [
                {"name": name, "type": spec_of[name]["type"], "value": typed, "focused": True}
            ]
        else:
            options = self._options(target, channel, values, resolved)
        for level in reversed(chain):
            options = [{"name": level["name"], "type": level["type"], "options": options}]
        payload["data"] = {
            "id": spec["id"],
            "name": top,
            "type": CommandType.CHAT_INPUT,
            "options": options,
            "resolved": resolved,
        }
        if channel.guild_id is not None:
            payload["data"]["guild_id"] = str(channel.guild_id)
        refused = None if self._allowed(member, channel, spec) else "missing permissions"
        return await self._create_interaction(payload, member, channel, command, refused)

    async def message_command(self, member: Member, name: str, message: Message) -> Interaction:
        spec = self._find_command(member.guild, name, CommandType.MESSAGE)
        payload = self._interaction_base(
            InteractionType.APPLICATION_COMMAND, member, message.channel
        )
        payload["data"] = {
            "id": spec["id"],
            "name": name,
            "type": CommandType.MESSAGE,
            "target_id": str(message.id),
            "resolved": {"messages": {str(message.id): message.to_json()}},
        }
        refused = None if self._allowed(member, message.channel, spec) else "missing permissions"
        return await self._create_interaction(payload, member, message.channel, name, refused)

    async def click(self, member: Member, message: Message, button: str | dict) -> Interaction:
        if isinstance(button, str):
            found = [b for b in message.buttons() if button in (b.get("label"), b.get("custom_id"))]
            if not found:
                raise LookupError(f"no button {button!r} on the message: {message.buttons()}")
            button = found[0]
        payload = self._interaction_base(InteractionType.MESSAGE_COMPONENT, member, message.channel)
        payload["message"] = message.to_json(self.bot_user.id)
        payload["data"] = {"custom_id": button["custom_id"], "component_type": button["type"]}
        return await self._create_interaction(
            payload, member, message.channel, f"button:{button['custom_id']}"
        )

    async def add_reaction(self, message: Message, emoji: str, member: Member) -> None:
        users = message.reactions.setdefault(emoji, [])
        if member.id not in users:
            users.append(member.id)
            await self._reaction_event(message, emoji, member, added=True)

    async def remove_reaction(self, message: Message, emoji: str, member: Member | User) -> None:
        users = message.reactions.get(emoji, [])
        if member.id in users:
            users.remove(member.id)
            await self._reaction_event(message, emoji, member, added=False)

    async def _reaction_event(self, message: Message, emoji: str, member, added: bool) -> None:
        """Record and dispatch MESSAGE_REACTION_ADD / _REMOVE (`member` only on add)."""
        self.record("reaction", message=message.id, emoji=emoji, user=member.id, added=added)
        data = {
            "user_id": str(member.id),
            "channel_id": str(message.channel.id),
            "message_id": str(message.id),
            "emoji": {"id": None, "name": emoji},
            "type": 0,
            "burst": False,
        }
        if added:
            data.update(burst_colors=[], message_author_id=str(message.author.id))
        if message.channel.guild_id is not None:
            data["guild_id"] = str(message.channel.guild_id)
            if added:
                data["member"] = member.to_json()
        event = "MESSAGE_REACTION_ADD" if added else "MESSAGE_REACTION_REMOVE"
        await self.dispatch(event, data, message.channel.guild_id)

    async def post_as(
        self, member: Member, channel: Channel, content: str, attachments: list[Attachment] = ()
    ) -> Message:
        """A person posts a message, with files if given (uploaded to the CDN)."""
        message = Message(
            snowflake(),
            channel,
            member.user,
            content=content,
            attachments=[self._upload(channel, a) for a in attachments],
        )
        self.messages[message.id] = message
        data = message.to_json()
        data["member"] = member.to_json()
        await self.dispatch("MESSAGE_CREATE", data, channel.guild_id)
        return message

    async def delete_message(self, message: Message) -> None:
        self.messages.pop(message.id, None)
        data = {"id": str(message.id), "channel_id": str(message.channel.id)}
        if message.channel.guild_id is not None:
            data["guild_id"] = str(message.channel.guild_id)
        await self.dispatch("MESSAGE_DELETE", data, message.channel.guild_id)

    async def remove_bot(self, guild: Guild) -> None:
        """The bot is kicked from (or leaves) a guild."""
        guild.bot_present = False
        await self.dispatch("GUILD_DELETE", {"id": str(guild.id)}, guild.id)

    async def add_bot(self, guild: Guild) -> None:
        """The bot is (re)added to a guild: a GUILD_CREATE without "unavailable" is a join."""
        guild.bot_present = True
        data = guild.to_json()
        del data["unavailable"]
        await self.dispatch("GUILD_CREATE", data, guild.id)
