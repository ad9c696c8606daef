"""Offline chat models that record exactly what they were sent.

`RecordingChatModel` formats tools and structured output the way
`langchain-openai` does (OpenAI tool dicts, `response_format`), streams text
word by word and tool calls in fragments, and reports usage, so the wrapper
is exercised on every path a real provider takes.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from operator import itemgetter
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import JsonOutputKeyToolsParser, PydanticToolsParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import Field

Response = str | AIMessage | Callable[[list[BaseMessage], dict[str, Any]], AIMessage]


def _usage(messages: Sequence[BaseMessage], reply: AIMessage) -> dict[str, int]:
    sent = sum(len(str(m.content)) for m in messages) // 4
    out = len(str(reply.content)) // 4 + 1
    return {"input_tokens": sent, "output_tokens": out, "total_tokens": sent + out}


class NonStreamingChatModel(BaseChatModel):
    """Replies from a script and records every request it receives; cannot stream."""

    model: str = "recording-fake-1"
    responses: list[Any] = Field(default_factory=lambda: ["ok"])
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    max_retries: int | None = None
    stop: list[str] | None = None
    streaming: bool = False
    received: list[list[BaseMessage]] = Field(default_factory=list, exclude=True)
    received_kwargs: list[dict[str, Any]] = Field(default_factory=list, exclude=True)
    calls: list[int] = Field(default_factory=lambda: [0], exclude=True)

    @property
    def _llm_type(self) -> str:
        return "recording-fake"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model}

    def _reply(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        self.received.append(list(messages))
        self.received_kwargs.append(dict(kwargs))
        index = min(self.calls[0], len(self.responses) - 1)
        self.calls[0] += 1
        response = self.responses[index]
        if callable(response):
            reply = response(list(messages), kwargs)
        elif isinstance(response, AIMessage):
            reply = response.model_copy()
        else:
            reply = AIMessage(content=str(response))
        if reply.usage_metadata is None:
            reply = reply.model_copy(update={"usage_metadata": _usage(messages, reply)})
        return reply

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._reply(messages, {**kwargs, "stop": stop})
        model_name = kwargs.get("model", self.model)
        return ChatResult(
            generations=[ChatGeneration(message=reply)], llm_output={"model_name": model_name}
        )

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(t, strict=strict) for t in tools]
        if tool_choice is not None:
            if isinstance(tool_choice, str) and tool_choice not in (
                "auto",
                "none",
                "any",
                "required",
            ):
                tool_choice = {"type": "function", "function": {"name": tool_choice}}
            elif tool_choice == "any" or tool_choice is True:
                tool_choice = "required"
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: str = "function_calling",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        if kwargs:
            raise ValueError(f"unsupported arguments {kwargs}")
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        parser: Runnable[Any, Any]
        if method == "function_calling":
            name = convert_to_openai_tool(schema)["function"]["name"]
            llm = self.bind_tools(
                [schema],
                tool_choice=name,
                strict=strict,
                ls_structured_output_format={"kwargs": {"method": method}, "schema": schema},
            )
            parser = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method == "json_schema":
            spec = convert_to_openai_tool(schema, strict=strict)["function"]
            response_format = {
                "type": "json_schema",
                "json_schema": {
                    "name": spec["name"],
                    "schema": spec["parameters"],
                    "strict": strict,
                },
            }
            llm = self.bind(
                response_format=response_format,
                ls_structured_output_format={"kwargs": {"method": method}, "schema": schema},
            )
            parser = (
                PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
            )  # type: ignore[arg-type]
        elif method == "json_mode":
            llm = self.bind(
                response_format={"type": "json_object"},
                ls_structured_output_format={"kwargs": {"method": method}, "schema": schema},
            )
            parser = (
                PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
            )  # type: ignore[arg-type]
        else:
            raise ValueError(f"unknown method {method!r}")
        if not include_raw:
            return llm | parser
        parse = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        none = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parse.with_fallbacks([none], exception_key="parsing_error")


class RecordingChatModel(NonStreamingChatModel):
    """The scripted model with native sync and async streaming."""

    def _chunks(self, reply: AIMessage, model_name: str) -> Iterator[ChatGenerationChunk]:
        words = re.findall(r"\S+\s*|\s+", reply.content) if isinstance(reply.content, str) else []
        for word in words:
            yield ChatGenerationChunk(message=AIMessageChunk(content=word, id=reply.id))
        for i, call in enumerate(reply.tool_calls):
            args = json.dumps(call["args"])
            half = len(args) // 2
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    tool_call_chunks=[
                        tool_call_chunk(name=call["name"], args=args[:half], id=call["id"], index=i)
                    ],
                )
            )
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    tool_call_chunks=[
                        tool_call_chunk(name=None, args=args[half:], id=None, index=i)
                    ],
                )
            )
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=reply.usage_metadata,
                response_metadata={"model_name": model_name, "finish_reason": "stop"},
                chunk_position="last",
            )
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._reply(messages, {**kwargs, "stop": stop})
        for chunk in self._chunks(reply, kwargs.get("model", self.model)):
            if run_manager:
                run_manager.on_llm_new_token(str(chunk.message.content), chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        reply = self._reply(messages, {**kwargs, "stop": stop, "async": True})
        for chunk in self._chunks(reply, kwargs.get("model", self.model)):
            if run_manager:
                await run_manager.on_llm_new_token(str(chunk.message.content), chunk=chunk)
            yield chunk


def _value(schema: dict[str, Any], text: str) -> Any:
    """A value for a JSON schema, taken from the request text where it can be."""
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return _value(option, text)
    kind = schema.get("type")
    if kind in ("integer", "number"):
        found = re.search(r"-?\d+", text)
        return int(found.group(0)) if found else 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return _arguments(schema, text)
    quoted = re.search(r"'([^']+)'", text)
    return quoted.group(1) if quoted else text.strip() or "ok"


def _arguments(schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {name: _value(spec, text) for name, spec in schema.get("properties", {}).items()}


def schema_reply(messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
    """Behave like a cooperative model: call a tool when asked, answer a tool result, fill schemas."""
    last = messages[-1]
    text = str(last.content) if isinstance(last.content, str) else json.dumps(last.content)
    tools = kwargs.get("tools") or []
    fmt = kwargs.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return AIMessage(content=json.dumps(_arguments(fmt["json_schema"]["schema"], text)))
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        return AIMessage(content=json.dumps({"answer": text}))
    choice = kwargs.get("tool_choice")
    if tools and last.type == "human" and choice != "none":
        functions = [t["function"] for t in tools]
        chosen = functions[0]
        if isinstance(choice, dict):
            chosen = next(f for f in functions if f["name"] == choice["function"]["name"])
        else:
            chosen = next((f for f in functions if f["name"] in text), chosen)
        call_id = f"call_{len(messages)}"
        args = _arguments(chosen.get("parameters", {}), text)
        return AIMessage(
            content="", tool_calls=[{"name": chosen["name"], "args": args, "id": call_id}]
        )
    if last.type == "tool":
        return AIMessage(content=f"The tool said: {last.content}")
    return AIMessage(content=f"Hello! You said: {text[:80]}")


class CooperativeChatModel(RecordingChatModel):
    """A streaming, tool-calling fake that answers LangChain's integration suite sensibly."""

    responses: list[Any] = Field(default_factory=lambda: [schema_reply])
