// Umbrella header.
#pragma once

#include <lastbyte/backend.hpp>
#include <lastbyte/config.hpp>
#include <lastbyte/connection.hpp>
#include <lastbyte/context.hpp>
#include <lastbyte/session.hpp>
#include <lastbyte/verdict.hpp>
